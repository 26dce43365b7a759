"""Celery settings. The broker is the project's Redis, database 0; results are not kept.
(Celery itself lets CELERY_BROKER_URL in the environment override broker_url: see
celery.app.utils.Settings.broker_url.)"""
import os

broker_url = "redis://127.0.0.1:6379/0"
broker_transport_options = {"visibility_timeout": 3600}
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
timezone = os.environ.get("SHIPPING_TIMEZONE", "UTC")
worker_max_tasks_per_child = 200
