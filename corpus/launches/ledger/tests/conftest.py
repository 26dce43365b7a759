import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """The worker with the hardened CI configuration."""
    env = dict(os.environ, CELERY_CONFIG_MODULE="ledger.celeryconfig_hardened")
    process = subprocess.Popen(
        ["celery", "-A", "ledger.app", "worker", "--pool", "solo", "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
