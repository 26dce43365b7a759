"""Price computations used by the order actors; pure functions, no side effects."""
from decimal import ROUND_HALF_EVEN, Decimal

VAT_RATES = {"DE": Decimal("0.19"), "FR": Decimal("0.20"), "NL": Decimal("0.21")}


def total_with_vat(net, country):
    rate = VAT_RATES.get(country, Decimal("0"))
    return (Decimal(net) * (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
