"""Settings for `rq worker -c reports.rqsettings`, as RQ's documentation writes them."""
import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUES = ["reports"]
