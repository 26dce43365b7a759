"""Metrics namespace, read from the environment at import time."""
import os

NAMESPACE = os.environ.get("REPORTS_METRICS_NAMESPACE", "reports")
