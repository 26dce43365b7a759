import time

from dispatch.tasks import route_parcel


def test_every_parcel_gets_a_routing_slip(worker, tmp_path):
    for parcel in range(20):
        route_parcel.delay(parcel, str(tmp_path))
    deadline = time.time() + 8
    while time.time() < deadline and len(list(tmp_path.iterdir())) < 20:
        time.sleep(0.1)
    assert len(list(tmp_path.iterdir())) == 20, "parcels stayed PENDING"
