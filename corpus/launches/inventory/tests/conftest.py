import os
import subprocess

import pytest

BROKER_URL = os.environ.get("INVENTORY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")


@pytest.fixture
def worker():
    """A real worker for the integration tests, with a clean environment: only what it
    needs, and the same profile as the unit tests."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "LANG": "C.UTF-8",
        "INVENTORY_PROFILE": "test",
        "INVENTORY_BROKER_URL": BROKER_URL,
    }
    process = subprocess.Popen(
        ["dramatiq", "inventory.tasks", "--processes", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
