from ledger.accounts import BALANCES


def daily_totals(day):
    return {"day": day, "accounts": len(BALANCES), "total": str(sum(BALANCES.values(), 0))}
