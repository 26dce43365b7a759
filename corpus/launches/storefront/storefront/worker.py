"""The worker started from Python, for a Procfile: `python -m storefront.worker`."""
from storefront import tasks  # noqa: F401  (the tasks, registered on the app)
from storefront.celery import app

if __name__ == "__main__":
    app.Worker(pool="solo", concurrency=1, loglevel="INFO").start()
