import time

from reservations.tasks import confirm_booking


def test_bookings_are_confirmed(worker, tmp_path):
    for reference in ("BK-1", "BK-2", "BK-3", "BK-4"):
        confirm_booking.delay(reference, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 4:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 4, "bookings stayed PENDING"
