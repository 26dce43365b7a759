import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """A real worker for the integration tests. CI jobs share one RabbitMQ: the worker gets
    a queue of its own."""
    env = dict(os.environ, APP_TASK_QUEUE="ci-tasks")
    process = subprocess.Popen(
        ["celery", "-A", "dispatch.app", "worker", "--pool", "solo", "--loglevel", "INFO"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
