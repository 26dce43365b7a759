"""Settings from the environment (APP_*), as a twelve-factor app reads them."""
import os

ENV = os.environ.get("APP_ENV", "development")
DEBUG = os.environ.get("APP_DEBUG", "0") == "1"
DATABASE_URL = os.environ.get("APP_DATABASE_URL", "sqlite:///app.db")
REDIS_URL = os.environ.get("APP_REDIS_URL", "redis://localhost:6379/0")
SECRET_KEY = os.environ.get("APP_SECRET_KEY", "dev-secret")
ALLOWED_HOSTS = [h for h in os.environ.get("APP_ALLOWED_HOSTS", "localhost").split(",") if h]
PAGE_SIZE = int(os.environ.get("APP_PAGE_SIZE", "25"))
DEFAULT_CURRENCY = os.environ.get("APP_DEFAULT_CURRENCY", "EUR")
