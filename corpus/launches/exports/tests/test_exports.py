import time

from exports.jobs import build_export
from exports.queue import exports


def test_exports_are_built(worker, tmp_path):
    jobs = [exports.enqueue(build_export, account, str(tmp_path)) for account in ("acme", "globex")]
    deadline = time.time() + 8
    while time.time() < deadline and not all(job.get_status() == "finished" for job in jobs):
        time.sleep(0.1)
    assert [job.get_status() for job in jobs] == ["finished", "finished"], "exports stayed queued"
