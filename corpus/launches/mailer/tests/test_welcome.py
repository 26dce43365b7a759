import time

from mailer.tasks import send_welcome


def test_welcome_mail_is_sent(worker, tmp_path):
    send_welcome.broker.flush_all()
    send_welcome.send("ada@example.com", str(tmp_path))
    mail = tmp_path / "ada@example.com"
    deadline = time.time() + 8
    while time.time() < deadline and not mail.exists():
        time.sleep(0.1)
    send_welcome.broker.flush_all()
    assert mail.exists(), "the welcome mail stayed pending"
