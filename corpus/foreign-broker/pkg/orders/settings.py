"""Service settings, read from the environment as a twelve-factor app does."""
import os

ENVIRONMENT = os.environ.get("ORDERS_ENV", "development")
DATABASE_URL = os.environ.get("ORDERS_DATABASE_URL", "sqlite:///orders.db")
PAYMENT_PROVIDER = os.environ.get("ORDERS_PAYMENT_PROVIDER", "sandbox")
MAX_ITEMS_PER_ORDER = int(os.environ.get("ORDERS_MAX_ITEMS", "100"))
