"""The mailroom's actors: receipts go out at once on the default queue, digests on a queue
of their own."""
import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

dramatiq.set_broker(RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f"))


@dramatiq.actor
def send_receipt(order, outbox):
    open(os.path.join(outbox, "receipt-%s" % order), "w").close()


@dramatiq.actor(queue_name="digests")
def send_digest(user, outbox):
    open(os.path.join(outbox, "digest-%s" % user), "w").close()
