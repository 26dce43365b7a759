"""The sms service: configured from the environment, registered, no I/O at import."""
import os

from app.registry import service

TIMEOUT_S = float(os.environ.get("APP_SMS_TIMEOUT", "5"))


@service("sms")
class SmsService:
    def __init__(self, client=None):
        self.client = client
        self.timeout = TIMEOUT_S

    def health(self):
        return {"service": "sms", "timeout": self.timeout}
