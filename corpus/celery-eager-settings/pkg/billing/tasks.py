"""Reminder tasks (a shared task, bound to the current app)."""
from celery import shared_task


@shared_task(name="billing.tasks.remind")
def remind(customer_id, days_overdue=7):
    return {"customer": customer_id, "days": days_overdue}
