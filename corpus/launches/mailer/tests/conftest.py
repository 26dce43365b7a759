import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def worker():
    """The worker, started from the tests' folder, where the fixture data lives."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "mailer.tasks", "-p", "1", "-t", "2"],
        cwd=HERE,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
