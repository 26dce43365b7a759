"""Start-up instrumentation: harmless here, but it is in the worker's import list."""
import logging
import os

logger = logging.getLogger("billing.telemetry")
SAMPLE_RATE = float(os.environ.get("BILLING_TRACE_SAMPLE_RATE", "0.1"))
logger.info("tracing at %.2f", SAMPLE_RATE)
