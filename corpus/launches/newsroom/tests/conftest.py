import os
import subprocess
import sys

import django
import pytest

# What pytest-django does with its DJANGO_SETTINGS_MODULE setting.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.test")
django.setup()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER_URL = os.environ.get("NEWSROOM_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")


@pytest.fixture
def rabbitmq():
    """The real broker, for end-to-end tests (the test settings use the StubBroker)."""
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=BROKER_URL)
    broker.declare_queue("newsroom-articles")
    broker.flush_all()
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def worker():
    """A real worker, started as a developer starts it."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
