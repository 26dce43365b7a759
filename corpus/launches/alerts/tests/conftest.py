import subprocess

import pytest


@pytest.fixture
def worker():
    """A worker given the broker module (which, somebody thought, imports the actors)."""
    process = subprocess.Popen(
        ["dramatiq", "alerts.broker", "--processes", "1", "--threads", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
