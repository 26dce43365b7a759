import time

from redis import Redis
from rq import Queue

from archiver.jobs import archive_document


def test_documents_are_archived(worker, tmp_path):
    queue = Queue("archive", connection=Redis.from_url("redis://127.0.0.1:6379/0"))
    jobs = [queue.enqueue(archive_document, name, str(tmp_path)) for name in ("minutes", "budget")]
    deadline = time.time() + 6
    while time.time() < deadline and not all(job.get_status() == "finished" for job in jobs):
        time.sleep(0.1)
    assert [job.get_status() for job in jobs] == ["finished", "finished"], "documents stayed queued"
