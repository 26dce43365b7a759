import logging
import os

log = logging.getLogger("ledger.audit")
TRAIL = os.environ.get("LEDGER_AUDIT_TRAIL", "off")


def record(event, **fields):
    if TRAIL != "off":
        log.info("%s %s", event, fields)
