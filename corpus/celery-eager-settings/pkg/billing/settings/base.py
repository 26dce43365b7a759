"""Settings every environment shares."""
import os

broker_url = os.environ.get("BILLING_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True
task_default_queue = "celery"
task_acks_late = False
worker_prefetch_multiplier = 4
