import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """A worker on the test settings."""
    env = dict(os.environ, CATALOG_ENV="test")
    process = subprocess.Popen(
        ["celery", "-A", "catalog.celery", "worker", "--pool", "solo", "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
