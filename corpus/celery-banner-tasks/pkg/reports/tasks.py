"""The on-demand tasks."""
from reports.celery import app
from reports.metrics import NAMESPACE


@app.task(name="reports.tasks.refresh_cache")
def refresh_cache(report):
    return "%s:%s" % (NAMESPACE, report)
