"""Start-up telemetry: names the service for the tracing backend. Harmless for the worker."""
import logging
import os
import socket

logger = logging.getLogger("orders.telemetry")

SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "orders")
RESOURCE = {
    "service.name": SERVICE_NAME,
    "host.name": socket.gethostname(),
    "deployment.environment": os.environ.get("ORDERS_ENV", "development"),
}
logger.info("telemetry resource: %s", RESOURCE)
