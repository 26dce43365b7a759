"""Webhook signature checking: pure functions over the request body."""
import hashlib
import hmac


def signature(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret, body, received):
    return hmac.compare_digest(signature(secret, body), received)
