import subprocess

import pytest


@pytest.fixture
def worker():
    """The worker as the deploy scripts start the default one."""
    process = subprocess.Popen(
        ["dramatiq", "mailroom.tasks", "--processes", "1", "--threads", "2", "--queues", "default"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
