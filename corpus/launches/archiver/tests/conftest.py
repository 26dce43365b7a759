import subprocess
import time

import pytest
from redis import Redis
from rq import Worker

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def worker():
    """A worker that leaves when its queue is empty (so that the test run ends by itself),
    started once it has registered."""
    process = subprocess.Popen(
        ["rq", "worker", "--url", REDIS, "--burst", "archive"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    yield process
    process.terminate()
    process.wait(timeout=30)
