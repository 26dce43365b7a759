from couriers.tasks import quote_delivery


def test_delivery_quotes(worker):
    results = [quote_delivery.delay(kilograms, service)
               for kilograms in (1, 2, 5) for service in ("standard", "express")]
    assert [r.get(timeout=8) for r in results] == [4.5, 9.0, 9.0, 18.0, 22.5, 45.0]
