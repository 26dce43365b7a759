import time

from catalog.tasks.search import reindex


def test_new_products_are_indexed(worker, tmp_path):
    for sku in ("A-100", "A-101", "A-102"):
        reindex.delay(sku, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 3:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 3, "reindexing stayed PENDING"
