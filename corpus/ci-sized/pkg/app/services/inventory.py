"""The inventory service: configured from the environment, registered, no I/O at import."""
import os

from app.registry import service

TIMEOUT_S = float(os.environ.get("APP_INVENTORY_TIMEOUT", "5"))


@service("inventory")
class InventoryService:
    def __init__(self, client=None):
        self.client = client
        self.timeout = TIMEOUT_S

    def health(self):
        return {"service": "inventory", "timeout": self.timeout}
