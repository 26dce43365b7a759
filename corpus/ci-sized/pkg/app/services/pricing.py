"""The pricing service: configured from the environment, registered, no I/O at import."""
import os

from app.registry import service

TIMEOUT_S = float(os.environ.get("APP_PRICING_TIMEOUT", "5"))


@service("pricing")
class PricingService:
    def __init__(self, client=None):
        self.client = client
        self.timeout = TIMEOUT_S

    def health(self):
        return {"service": "pricing", "timeout": self.timeout}
