import dramatiq

from attrapp.broker import broker


@dramatiq.actor(broker=broker, queue_name="minrepro-attribute-broker")
def work(value):
    return value
