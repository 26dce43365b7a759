"""Audit logging of money movements: a dedicated logger, configured at import."""
import logging
import os

audit = logging.getLogger("payments.audit")
audit.setLevel(os.environ.get("PAYMENTS_AUDIT_LEVEL", "INFO"))
audit.propagate = True
