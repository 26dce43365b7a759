import time

from thumbnails.tasks import make_thumbnail

IMAGES = 300


def test_every_thumbnail_is_made(worker, tmp_path):
    make_thumbnail.broker.flush_all()
    for n in range(IMAGES):
        make_thumbnail.send("image-%03d" % n, str(tmp_path))
    deadline = time.time() + 10
    while time.time() < deadline and len(list(tmp_path.glob("*.thumb"))) < IMAGES:
        time.sleep(0.2)
    made = len(list(tmp_path.glob("*.thumb")))
    make_thumbnail.broker.flush_all()
    assert made == IMAGES, "%d of %d thumbnails made, the rest stayed pending" % (made, IMAGES)
