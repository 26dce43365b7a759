import time

from alerts.tasks import page_on_call


def test_incidents_page_the_on_call(worker, tmp_path):
    for incident in (101, 102):
        page_on_call.send(incident, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 2:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 2, "pages stayed PENDING"
