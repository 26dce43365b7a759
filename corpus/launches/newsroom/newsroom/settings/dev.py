"""A developer's machine: a local RabbitMQ."""
import os

from .base import *  # noqa: F403

DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
    "OPTIONS": {"url": os.environ.get("NEWSROOM_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")},
    "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,  # noqa: F405
}
