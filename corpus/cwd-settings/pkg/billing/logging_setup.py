"""Structured logging for the billing processes: a JSON-ish formatter on the root logger's
existing handlers. Harmless for the worker."""
import logging
import os

FORMAT = os.environ.get("BILLING_LOG_FORMAT", "plain")

if FORMAT == "json":
    formatter = logging.Formatter('{"t": "%(asctime)s", "lvl": "%(levelname)s", "msg": "%(message)s"}')
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
