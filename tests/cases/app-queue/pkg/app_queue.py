"""Declares an actor on the queue APP_QUEUE names, on whatever broker is global."""
import os

import dramatiq


@dramatiq.actor(queue_name=os.environ["APP_QUEUE"])
def handle(item):
    return item
