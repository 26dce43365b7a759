"""Thumbnails, made in the background."""
import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

BROKER_URL = os.environ.get("THUMBNAILS_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
dramatiq.set_broker(RabbitmqBroker(url=BROKER_URL))


@dramatiq.actor(queue_name="thumbnails")
def make_thumbnail(image, out_dir):
    """Writes the thumbnail of `image` (here, a note that it was made)."""
    with open(os.path.join(out_dir, image + ".thumb"), "w") as thumb:
        thumb.write("128x128\n")
