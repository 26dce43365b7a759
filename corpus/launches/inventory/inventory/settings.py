"""Settings by profile. The unit tests run with INVENTORY_PROFILE=test: actors then go to
Dramatiq's in-memory StubBroker, so that they can be tested without RabbitMQ."""
import os

import dramatiq

PROFILE = os.environ.get("INVENTORY_PROFILE", "dev")
BROKER_URL = os.environ.get("INVENTORY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
LOW_STOCK = int(os.environ.get("INVENTORY_LOW_STOCK", "5"))

if PROFILE == "test":
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
else:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=BROKER_URL)

dramatiq.set_broker(broker)
