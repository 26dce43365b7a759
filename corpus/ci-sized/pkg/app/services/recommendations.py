"""The recommendations service: configured from the environment, registered, no I/O at import."""
import os

from app.registry import service

TIMEOUT_S = float(os.environ.get("APP_RECOMMENDATIONS_TIMEOUT", "5"))


@service("recommendations")
class RecommendationsService:
    def __init__(self, client=None):
        self.client = client
        self.timeout = TIMEOUT_S

    def health(self):
        return {"service": "recommendations", "timeout": self.timeout}
