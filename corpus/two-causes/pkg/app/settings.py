"""Application settings. In tests, the application swaps in Dramatiq's StubBroker so that
unit tests can run actors without RabbitMQ. A worker started with the testing flag in its
environment then consumes from that in-memory broker and never sees a real message."""
import os

import dramatiq

TESTING = os.environ.get("DRAMATIQ_TESTING") == "1"
APP_ENV = os.environ.get("APP_ENV", "development")
CACHE_TTL = int(os.environ.get("CACHE_TTL", "300"))

if TESTING:
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
