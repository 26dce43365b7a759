"""Invoice tasks."""
import os

from billing.celery import app

CURRENCY = os.environ.get("BILLING_CURRENCY", "EUR")


@app.task(name="billing.invoices.issue")
def issue(invoice_id):
    return {"invoice": invoice_id, "currency": CURRENCY}


@app.task(name="billing.invoices.void")
def void(invoice_id, reason=""):
    return {"invoice": invoice_id, "void": True, "reason": reason}
