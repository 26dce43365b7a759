"""Shared test fixtures: importing this module makes Dramatiq use an in-memory StubBroker,
so that the unit tests can enqueue and run actors without RabbitMQ (the tests then call
`broker.join(queue)` and `worker.join()`).

What this case models: the worker's import list is not written by hand. The CI job builds
it by auto-discovery, walking every module of the `app` package (as `dramatiq
$(python -m app.discover)` would), and app/testing/ is a package inside `app`. So among
forty-odd harmless modules, the worker also imports this one, which installs the
StubBroker as a side effect: the worker consumes from memory and never sees the message
on RabbitMQ. PENDING.
"""
import dramatiq
from dramatiq.brokers.stub import StubBroker

broker = StubBroker()
broker.emit_after("process_boot")
dramatiq.set_broker(broker)


def stub_worker(worker_threads=1):
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=worker_threads)
    worker.start()
    return worker
