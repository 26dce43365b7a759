"""A start-up health check the worker image runs: harmless here."""
import os

HEALTHCHECK_PORT = int(os.environ.get("HEALTHCHECK_PORT", "8081"))
