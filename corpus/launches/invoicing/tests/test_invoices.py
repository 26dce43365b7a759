import time

from invoicing.tasks import render_invoice


def test_invoices_are_rendered(worker, tmp_path):
    for number in range(1, 6):
        render_invoice.delay(number, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 5:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 5, "invoices stayed PENDING"
