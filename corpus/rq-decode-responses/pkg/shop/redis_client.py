"""The shop's Redis client: the cart cache, the RQ queues and the worker script use it."""
from redis import Redis

from shop import settings

conn = Redis.from_url(settings.REDIS_URL, decode_responses=settings.REDIS_DECODE_RESPONSES)
