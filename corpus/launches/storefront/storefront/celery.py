"""The storefront's Celery app. Its settings module is chosen by STOREFRONT_SETTINGS."""
import importlib
import os

from celery import Celery

PROFILE = os.environ.get("STOREFRONT_SETTINGS", "dev")

app = Celery("storefront")
app.config_from_object(importlib.import_module("storefront.settings.%s" % PROFILE))
