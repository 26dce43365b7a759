"""The testing flag asks for a test database that the worker does not have: it crashes.
Otherwise the local RabbitMQ (quickly, so that many bisections fit in a test)."""
import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

if os.environ.get("QUEUE_APP_TESTING") == "1":
    raise RuntimeError("QUEUE_APP_TESTING needs the test database, which is not set up")

dramatiq.set_broker(RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f"))
