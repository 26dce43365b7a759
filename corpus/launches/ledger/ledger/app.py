"""The ledger's Celery app. Its configuration module is CELERY_CONFIG_MODULE's, as the
Celery documentation suggests, by default ledger.celeryconfig."""
import os

from celery import Celery

app = Celery("ledger", include=["ledger.tasks"])
app.config_from_object(os.environ.get("CELERY_CONFIG_MODULE", "ledger.celeryconfig"))
