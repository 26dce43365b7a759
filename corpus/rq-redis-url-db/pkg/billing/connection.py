"""The one Redis connection of the service: the RQ queues, the worker and the rate limiter
share it. Deployments point it elsewhere with REDIS_URL; the default is the local Redis."""
import logging
import os

from redis import Redis

logger = logging.getLogger("billing.connection")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
REDIS_URL = os.environ.get("REDIS_URL", DEFAULT_URL)
SOCKET_TIMEOUT = float(os.environ.get("BILLING_REDIS_SOCKET_TIMEOUT", "600"))

redis_conn = Redis.from_url(REDIS_URL, socket_timeout=SOCKET_TIMEOUT)
logger.info("redis at %s", REDIS_URL.rsplit("@", 1)[-1])
