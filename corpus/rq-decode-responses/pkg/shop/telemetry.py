"""Start-up telemetry: a service name and a sample rate, logged once."""
import logging
import os

SERVICE = os.environ.get("OTEL_SERVICE_NAME", "shop-worker")
SAMPLE_RATE = float(os.environ.get("SHOP_TRACE_SAMPLE_RATE", "0.05"))
logging.getLogger("shop.telemetry").info("%s traced at %.2f", SERVICE, SAMPLE_RATE)
