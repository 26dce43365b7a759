"""Layered configuration, as many services do it: built-in defaults, overridden by
./config/worker.ini when the process runs from a directory that has one (a checkout, a
container's /srv/app), overridden in turn by BILLING_* environment variables.

What this case models: the test suite keeps a fixture tree, tests/fixture/, whose
config/worker.ini selects the in-memory StubBroker so that unit tests run actors without
RabbitMQ. The integration test's fixture starts the worker with Popen(cwd=fixture_dir)
so that it finds the fixture's data files, and the worker picks up that worker.ini too:
it consumes from the StubBroker and never sees the message on RabbitMQ (PENDING). Started
from anywhere else, the file is absent, the defaults apply and the worker is fine.
"""
import configparser
import os

import dramatiq

DEFAULTS = {
    "broker": {"backend": "rabbitmq", "prefetch": "10"},
    "invoices": {"currency": "EUR", "due_days": "30"},
}

CONFIG_FILE = os.path.join("config", "worker.ini")

config = configparser.ConfigParser()
config.read_dict(DEFAULTS)
loaded_from = config.read(CONFIG_FILE)  # relative: resolved against the working directory

CURRENCY = os.environ.get("BILLING_CURRENCY", config["invoices"]["currency"])
DUE_DAYS = int(os.environ.get("BILLING_DUE_DAYS", config["invoices"]["due_days"]))

if config["broker"]["backend"] == "stub":
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
