"""Settings by profile (SHOP_ENV): development, ci, production.

The CI profile turns on decode_responses for the shared Redis client: the cache tests
compare the cached values with str objects, and redis-py then returns str instead of bytes."""
import os

PROFILE = os.environ.get("SHOP_ENV", "development")
REDIS_URL = os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379/0")
CART_TTL = int(os.environ.get("SHOP_CART_TTL", "3600"))
REDIS_DECODE_RESPONSES = False

if PROFILE == "ci":
    CART_TTL = 60
    REDIS_DECODE_RESPONSES = True
elif PROFILE == "production":
    CART_TTL = 86400
