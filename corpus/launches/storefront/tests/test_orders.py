import time

from storefront.tasks import fulfil


def test_an_order_is_fulfilled(worker, tmp_path):
    fulfil.delay("order-7", str(tmp_path))
    note = tmp_path / "order-7.json"
    deadline = time.time() + 8
    while time.time() < deadline and not note.exists():
        time.sleep(0.1)
    assert note.exists(), "the order stayed pending"
