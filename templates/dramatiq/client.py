# --- the probe's client: Dramatiq's own (reproduce.py includes this text) -----------------
PACKAGES = ("dramatiq", "pika", "redis")
# Without credentials in the URL, pika uses RabbitMQ's default guest/guest.
DEFAULT_BROKER = "amqp://127.0.0.1:5672/%2f"


def PROBE_TASK(token):
    return "minrepro_probe_" + token


def connect(broker_url):
    """Dramatiq's own broker client, connected (it fails here if the broker is down)."""
    if broker_url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=broker_url)
        broker.client.ping()
        return broker
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=broker_url)
    broker.connection
    return broker


def _on_redis(broker):
    return type(broker).__name__ == "RedisBroker"


def declared(broker, queue):
    """Whether the worker has declared the probe queue (a missing queue closes the channel,
    so each look uses a channel of its own). A Redis queue needs no declaring."""
    if _on_redis(broker):
        return True
    import pika.exceptions

    channel = broker.connection.channel()
    try:
        channel.queue_declare(queue, passive=True)
        channel.close()
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False


def publish_probes(broker, queue, actor_name, token, count):
    """The Dramatiq messages for the probe actor. On RabbitMQ the worker declares the queue
    itself, with the arguments its own configuration gives (a dead-message TTL, a max
    priority), so they are published to it as Dramatiq publishes, without declaring it
    again; on Redis, RedisBroker's own enqueue."""
    import dramatiq

    for index in range(count):
        message = dramatiq.Message(queue_name=queue, actor_name=actor_name, args=(token, index), kwargs={}, options={})
        if _on_redis(broker):
            broker.enqueue(message)
            continue
        import pika

        broker.channel.basic_publish(
            exchange="", routing_key=queue, body=message.encode(),
            properties=pika.BasicProperties(delivery_mode=2, priority=0),
        )


def cleanup(broker, queue, token, count):
    """Deletes the probe queue with its delay and dead-letter queues."""
    names = (queue, queue + ".DQ", queue + ".XQ")
    if _on_redis(broker):
        keys = ["dramatiq:" + name for name in names] + ["dramatiq:%s.msgs" % name for name in names]
        broker.client.delete(*keys)
        return
    for name in names:
        broker.channel.queue_delete(name)


def broker_version(broker):
    try:
        if _on_redis(broker):
            return "Redis " + broker.client.info("server").get("redis_version", "?")
        version = broker.connection._impl.server_properties.get("version", "?")
        return "RabbitMQ " + (version.decode() if isinstance(version, bytes) else str(version))
    except Exception:
        return "?"


def close(broker):
    broker.close()
