"""The mailer's settings come from mailer.ini in the working directory; without it, the
production defaults apply (the broker's `mailer` vhost)."""
import configparser

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

config = configparser.RawConfigParser()
config.read("mailer.ini")
BROKER_URL = config.get("broker", "url", fallback="amqp://guest:guest@127.0.0.1:5672/mailer")

dramatiq.set_broker(RabbitmqBroker(url=BROKER_URL))
