"""Any value at all in LEAKED_FLAG swaps in Dramatiq's StubBroker: its value is whatever a
test suite put there."""
import os

import dramatiq

if os.environ.get("LEAKED_FLAG"):
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
