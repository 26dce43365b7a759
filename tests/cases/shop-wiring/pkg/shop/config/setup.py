"""Start-up wiring."""
import logging
import os

from shop.util import env

log = logging.getLogger("shop")
REGION = env.get("SHOP_REGION", "eu")
RETRIES = int(env.get("SHOP_RETRIES", "3"))


def _configure_logging():
    level = env.get("SHOP_LOG_LEVEL", "INFO")
    logging.basicConfig(level=level)
    return level


def _configure_broker():
    import dramatiq
    mode = env.get("SHOP_MODE", "prod")
    if mode == "test":
        from dramatiq.brokers.stub import StubBroker
        log.info("test mode: in-memory broker")
        dramatiq.set_broker(StubBroker())
    else:
        log.info("broker from the environment")


LEVEL = _configure_logging()
_configure_broker()
CACHE = {"region": REGION, "retries": RETRIES, "pid": os.getpid()}
