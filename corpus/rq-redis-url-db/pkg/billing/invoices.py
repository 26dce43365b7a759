"""Invoice rendering: pure functions, called by the jobs."""
import decimal
import os

CURRENCY = os.environ.get("BILLING_CURRENCY", "EUR")
VAT_RATE = decimal.Decimal(os.environ.get("BILLING_VAT_RATE", "0.21"))


def total(lines):
    net = sum((decimal.Decimal(str(amount)) for _, amount in lines), decimal.Decimal(0))
    return (net * (1 + VAT_RATE)).quantize(decimal.Decimal("0.01"))


def render(invoice_id, lines):
    body = "\n".join("%-30s %10s" % (label, amount) for label, amount in lines)
    return "Invoice %s\n%s\nTotal: %s %s" % (invoice_id, body, total(lines), CURRENCY)
