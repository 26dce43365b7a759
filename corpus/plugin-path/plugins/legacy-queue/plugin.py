"""A stale plugin from an old checkout: it predates the move to RabbitMQ and still swaps in
an in-memory broker for "local development". Its folder is still on the CI runners' plugin
path."""
import dramatiq
from dramatiq.brokers.stub import StubBroker

def setup():
    dramatiq.set_broker(StubBroker())
