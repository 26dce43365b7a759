import time

from inventory.tasks import restock


def test_restock_runs_in_the_worker(worker, tmp_path):
    restock.broker.flush_all()
    restock.send("sku-42", 3, str(tmp_path))
    receipt = tmp_path / "sku-42.json"
    deadline = time.time() + 8
    while time.time() < deadline and not receipt.exists():
        time.sleep(0.1)
    restock.broker.flush_all()
    assert receipt.exists(), "the restock task stayed pending"
