import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """A worker for the test run, on a queue name of the test's."""
    process = subprocess.Popen(
        ["rq", "worker", "--url", os.environ["REDIS_URL"], "exports-test"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
