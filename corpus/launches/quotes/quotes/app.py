"""The quotes service's Celery app: its broker and result backend come from Celery's own
CELERY_BROKER_URL and CELERY_RESULT_BACKEND variables (tox sets both)."""
from celery import Celery

app = Celery("quotes", include=["quotes.tasks"])
app.conf.task_default_queue = "quotes"
