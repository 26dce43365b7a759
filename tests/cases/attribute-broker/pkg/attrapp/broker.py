"""A broker that is never made the global one: the app's actors are bound to it, and the
CLI is started with `dramatiq attrapp.broker:broker attrapp.tasks`."""
from dramatiq.brokers.rabbitmq import RabbitmqBroker

broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f")
