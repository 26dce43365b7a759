import time

from mailroom.tasks import send_digest


def test_weekly_digests_go_out(worker, tmp_path):
    for user in ("ada", "grace", "linus"):
        send_digest.send(user, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 3:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 3, "digests stayed PENDING"
