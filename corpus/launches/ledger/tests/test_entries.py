import time

from ledger.tasks import post_entry


def test_entries_are_posted(worker, tmp_path):
    for account in ("cash", "sales", "vat"):
        post_entry.delay(account, 12000, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 3:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 3, "entries stayed PENDING"
