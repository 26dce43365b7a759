"""Settings: in tests, CAPTURE_TESTING swaps in Dramatiq's StubBroker."""
import os

import dramatiq

if os.environ.get("CAPTURE_TESTING") == "1":
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
else:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    dramatiq.set_broker(RabbitmqBroker(url=os.environ["CAPTURE_BROKER_URL"]))
