import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def worker():
    """A real worker for the integration tests, on Redis database 4 so that the tests never
    pick up a developer's queued tasks from database 0."""
    env = dict(os.environ, COURIERS_REDIS_URL="redis://127.0.0.1:6379/4")
    process = subprocess.Popen(
        ["celery", "-A", "couriers.app", "worker", "--pool", "threads", "--concurrency", "2",
         "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
