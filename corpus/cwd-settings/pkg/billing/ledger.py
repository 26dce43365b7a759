"""Ledger arithmetic for invoices: pure functions."""
from decimal import Decimal


def balance(entries):
    return sum((Decimal(str(amount)) for _, amount in entries), Decimal("0"))


def overdue(invoices, today):
    return [inv for inv in invoices if inv["due"] < today and not inv.get("paid")]
