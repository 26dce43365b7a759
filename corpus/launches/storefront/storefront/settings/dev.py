"""Development and production: RabbitMQ."""
import os

broker_url = os.environ.get("STOREFRONT_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
task_default_queue = "storefront-orders"
task_ignore_result = True
worker_hijack_root_logger = True
