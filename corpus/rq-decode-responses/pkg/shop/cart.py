"""Carts cached in Redis (the client is taken when first needed)."""
import json

from shop import settings


def save(cart_id, items):
    from shop import redis_client

    redis_client.conn.set("shop:cart:%s" % cart_id, json.dumps(items), ex=settings.CART_TTL)


def load(cart_id):
    from shop import redis_client

    raw = redis_client.conn.get("shop:cart:%s" % cart_id)
    return json.loads(raw) if raw else []
