import os
import subprocess

import pytest

# What the unit tests run with (tests/unit/ in the real project): eager tasks, no broker.
UNIT_TEST_ENV = {"STOREFRONT_SETTINGS": "testing"}


@pytest.fixture
def worker():
    """A real worker for the integration tests, with the tests' environment."""
    env = dict(os.environ, **UNIT_TEST_ENV)
    process = subprocess.Popen(
        ["celery", "-A", "storefront.celery", "worker", "--pool", "prefork",
         "--concurrency", "2", "--loglevel", "INFO", "-I", "storefront.tasks"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
