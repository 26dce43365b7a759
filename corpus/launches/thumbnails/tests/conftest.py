import os
import subprocess

import pytest


@pytest.fixture
def worker():
    """The worker as the team runs it, its output captured for the test report."""
    process = subprocess.Popen(
        ["dramatiq", "thumbnails.tasks", "-v", "--processes", "1", "--threads", "4"],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
