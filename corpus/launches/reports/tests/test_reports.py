import time

from reports.connection import queue
from reports.jobs import render


def test_a_report_is_rendered(worker, tmp_path):
    job = queue.enqueue(render, "report-12", str(tmp_path))
    report = tmp_path / "report-12.json"
    deadline = time.time() + 8
    while time.time() < deadline and not report.exists():
        time.sleep(0.1)
    queue.remove(job)
    job.delete()
    assert report.exists(), "the report stayed pending"
