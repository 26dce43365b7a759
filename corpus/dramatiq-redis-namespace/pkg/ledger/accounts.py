from decimal import Decimal

from ledger import settings

BALANCES = {}


def post(account, amount):
    BALANCES[account] = BALANCES.get(account, Decimal(0)) + Decimal(str(amount))
    return BALANCES[account], settings.CURRENCY
