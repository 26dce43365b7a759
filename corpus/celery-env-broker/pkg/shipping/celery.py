"""The shipping Celery app, configured from shipping.config (its own Redis database 0)."""
from celery import Celery

app = Celery("shipping")
app.config_from_object("shipping.config")
