"""The alerting service's broker, and the health check the load balancer pings."""
import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f")
dramatiq.set_broker(broker)


@dramatiq.actor
def ping():
    return "pong"
