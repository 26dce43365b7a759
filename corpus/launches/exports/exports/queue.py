"""The exports queue, on the Redis REDIS_URL names."""
import os

from redis import Redis
from rq import Queue

connection = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
exports = Queue("exports", connection=connection)
