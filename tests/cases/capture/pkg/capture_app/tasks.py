import dramatiq

from capture_app import settings  # noqa: F401  (the broker first)


@dramatiq.actor(queue_name="capture-app-tasks")
def ping(value):
    return value
