"""Payment settings from the environment."""
import os

PROVIDER = os.environ.get("PAYMENTS_PROVIDER", "sandbox")
CURRENCIES = tuple(os.environ.get("PAYMENTS_CURRENCIES", "EUR,GBP").split(","))
CAPTURE_DELAY_S = int(os.environ.get("PAYMENTS_CAPTURE_DELAY", "0"))
