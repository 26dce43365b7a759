"""Unit tests: tasks run eagerly, in the caller, and nothing touches RabbitMQ. A worker started
with these settings consumes from the in-memory transport and never sees a real message."""
from billing.settings.base import *  # noqa: F401,F403

task_always_eager = True
task_eager_propagates = True
broker_url = "memory://"
result_backend = "cache+memory://"
