"""The reports Celery app."""
import os

from celery import Celery

app = Celery("reports", broker=os.environ.get("REPORTS_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
app.conf.update(task_ignore_result=True, task_serializer="json", accept_content=["json"])
