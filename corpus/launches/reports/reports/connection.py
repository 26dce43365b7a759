"""The application's Redis connection, and the queue its jobs go to."""
import os

from redis import Redis
from rq import Queue

REDIS_URL = os.environ.get("REPORTS_REDIS_URL", "redis://127.0.0.1:6379/0")

redis = Redis.from_url(REDIS_URL)
queue = Queue("reports", connection=redis)
