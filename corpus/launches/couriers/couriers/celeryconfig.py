"""Celery settings. One Redis serves as broker and result store; its URL comes from the
environment so that each developer, and CI, can point at their own."""
import os

broker_url = os.environ.get("COURIERS_REDIS_URL", "redis://127.0.0.1:6379/0")
result_backend = broker_url
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
worker_hijack_root_logger = False
