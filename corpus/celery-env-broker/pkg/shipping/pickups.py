"""Pick-up scheduling tasks."""
from shipping.celery import app


@app.task(name="shipping.pickups.schedule", rate_limit="10/m")
def schedule(warehouse, day):
    return {"warehouse": warehouse, "day": day}
