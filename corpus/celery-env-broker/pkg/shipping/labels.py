"""Label tasks."""
from shipping.carriers import CARRIERS, SANDBOX
from shipping.celery import app


@app.task(name="shipping.labels.print_label")
def print_label(parcel_id, carrier=None):
    return {"parcel": parcel_id, "carrier": carrier or CARRIERS[0], "sandbox": SANDBOX}


@app.task(name="shipping.labels.cancel_label")
def cancel_label(parcel_id):
    return {"parcel": parcel_id, "cancelled": True}
