import subprocess

import pytest


@pytest.fixture
def worker():
    """The worker as the Procfile's `worker` process type starts it (copied from there)."""
    process = subprocess.Popen(
        ["celery", "-A", "invoicing.app", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", "celery"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
