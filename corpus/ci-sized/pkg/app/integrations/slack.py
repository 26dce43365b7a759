"""The slack client settings; the client itself is created on first use."""
import os

ENABLED = bool(os.environ.get("APP_SLACK_ENABLED", ""))
ENDPOINT = os.environ.get("APP_SLACK_ENDPOINT", "")
_client = None


def client():
    global _client
    if _client is None:
        _client = {"endpoint": ENDPOINT, "enabled": ENABLED}
    return _client
