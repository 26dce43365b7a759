"""Application settings, read from the environment as a twelve-factor app does."""
import os

APP_ENV = os.environ.get("APP_ENV", "development")
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///app.db")
FEATURE_FLAGS = [f for f in os.environ.get("FEATURE_FLAGS", "").split(",") if f]
REQUEST_TIMEOUT = float(os.environ.get("REQUEST_TIMEOUT", "30"))
