from quotes.tasks import price_quote


def test_a_quote_is_priced(worker):
    results = [price_quote.delay(100, currency) for currency in ("USD", "GBP")]
    assert [r.get(timeout=8) for r in results] == [108.0, 85.0]
