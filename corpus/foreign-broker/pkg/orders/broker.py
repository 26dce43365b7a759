"""Broker wiring for the orders service.

In deployed environments the service talks to the RabbitMQ vhost named by ORDERS_AMQP_URL
(each environment has its own vhost: ci-staging, staging, production). When the variable
is absent, the service leaves the broker to whoever runs it (a local worker, the tests).

What this case models: the CI job exports the staging pipeline's ORDERS_AMQP_URL, which
names the `ci-staging` vhost. That vhost exists on the staging RabbitMQ but not on the
RabbitMQ the test fixture talks to. The worker's consumer cannot open the vhost, pika keeps
retrying, and the message the test published on the real broker is never consumed: the
task stays PENDING.
"""
import os

import dramatiq

AMQP_URL = os.environ.get("ORDERS_AMQP_URL")

if AMQP_URL:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    dramatiq.set_broker(RabbitmqBroker(url=AMQP_URL))
