import os
import subprocess

import pytest

# The CI keeps the integration tests' data in a database of its own.
TEST_REDIS_URL = "redis://127.0.0.1:6379/3"


@pytest.fixture
def worker():
    """A real worker for the integration tests, on the tests' database."""
    env = dict(os.environ, REDIS_URL=TEST_REDIS_URL)
    process = subprocess.Popen(
        ["rq", "worker", "-c", "reports.rqsettings", "--logging_level", "INFO", "reports"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
