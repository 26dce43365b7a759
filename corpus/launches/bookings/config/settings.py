"""Settings of the bookings site (trimmed to what the worker needs)."""
import os

SECRET_KEY = "bookings-dev-not-secret"
DEBUG = True
INSTALLED_APPS = ["django.contrib.contenttypes", "reservations"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True

# Celery reads CELERY_BROKER_URL from the environment itself, over this.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/bookings-dev")
CELERY_TASK_DEFAULT_QUEUE = "bookings"
