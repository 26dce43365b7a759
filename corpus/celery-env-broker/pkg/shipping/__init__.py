"""Shipping: labels and carrier pick-ups, run as Celery tasks."""
