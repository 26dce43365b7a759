"""The catalog's Celery app; its settings module is chosen by CATALOG_ENV (dev, test)."""
import importlib
import os

from celery import Celery

app = Celery("catalog")
app.config_from_object(importlib.import_module("catalog.settings.%s" % os.environ.get("CATALOG_ENV", "dev")))
