"""The test suite: actors run on Dramatiq's in-memory StubBroker."""
from .base import *  # noqa: F403

DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.stub.StubBroker",
    "OPTIONS": {},
    "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,  # noqa: F405
}
