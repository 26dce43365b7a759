"""Money formatting for the templates: pure functions."""
from decimal import Decimal

SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_price(amount, currency="EUR"):
    return f"{SYMBOLS.get(currency, currency + ' ')}{Decimal(amount):,.2f}"
