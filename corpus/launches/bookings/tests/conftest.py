import os
import subprocess

import django
import pytest

django.setup()

# CI runs its workers on a vhost of its own.
CI_BROKER = "amqp://guest:guest@127.0.0.1:5672/bookings-ci"


@pytest.fixture
def worker():
    env = dict(os.environ, CELERY_BROKER_URL=CI_BROKER)
    process = subprocess.Popen(
        ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
