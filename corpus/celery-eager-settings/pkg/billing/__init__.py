"""Billing: invoices and payment reminders, run as Celery tasks."""
