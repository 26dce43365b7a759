"""The worker's entry module: python -m capture_app.worker."""
import sys
import time

import dramatiq

from capture_app import tasks  # noqa: F401


if __name__ == "__main__":
    print("capture_app worker starting", flush=True)
    print("capture_app worker logs to stderr", file=sys.stderr, flush=True)
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=3)
    worker.start()
    while True:
        time.sleep(1)
