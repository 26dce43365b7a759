"""The service's logging: a plain format, the level from the environment."""
import logging
import os

LEVEL = os.environ.get("BILLING_LOG_LEVEL", "INFO")
logging.basicConfig(level=LEVEL, format="%(asctime)s %(levelname)s %(name)s %(message)s")
logging.getLogger("billing").debug("logging configured at %s", LEVEL)
