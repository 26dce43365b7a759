"""Error reporting set-up. The SDK is optional; without a DSN nothing is reported."""
import os

DSN = os.environ.get("SENTRY_DSN", "")
ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "development")
ENABLED = bool(DSN) and ENVIRONMENT != "test"
