"""Carrier registry, read from the environment at import time."""
import os

CARRIERS = [name for name in os.environ.get("SHIPPING_CARRIERS", "dhl,ups").split(",") if name]
SANDBOX = os.environ.get("SHIPPING_CARRIER_SANDBOX", "1") == "1"
