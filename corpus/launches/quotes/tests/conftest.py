import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """A worker with a clean environment: what it needs and nothing else."""
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.environ["PYTHONPATH"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
    }
    process = subprocess.Popen(
        ["celery", "-A", "quotes.app", "worker", "--pool", "solo", "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
