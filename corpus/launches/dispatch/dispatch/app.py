"""The dispatch service's Celery app. Every CI job runs against the shared RabbitMQ, so the
team gave each job a queue of its own through APP_TASK_QUEUE; on a laptop it stays unset
and tasks go to Celery's default queue."""
import os

from celery import Celery

app = Celery("dispatch", include=["dispatch.tasks"])
app.conf.task_default_queue = os.environ.get("APP_TASK_QUEUE", "celery")
app.conf.worker_hijack_root_logger = False
