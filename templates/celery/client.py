# --- the probe's client: Celery's own (reproduce.py includes this text) -------------------
# The probe messages are sent as the application would send them: app.send_task with
# Celery's own producer, to the probe queue, without declaring it (the worker declares it,
# with the arguments its own configuration gives: a max priority, a quorum type...).
PACKAGES = ("celery", "kombu", "amqp", "redis")
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"


def PROBE_TASK(token):
    return "minrepro.probe"


def connect(broker_url):
    """Celery's own client on the broker: an app of minrepro's, its connection open (it fails
    here if the broker is down)."""
    from celery import Celery

    app = Celery("minrepro-reproduce", broker=broker_url, set_as_current=False)
    # One probe task, published as it is: no result backend, no retrying a dead broker.
    app.conf.broker_connection_retry_on_startup = False
    connection = app.connection_for_write()
    connection.ensure_connection(max_retries=1)
    return app, connection


def declared(client, queue):
    """Whether the probe queue can be published to yet: the worker declared it (RabbitMQ: a
    passive declare, on a channel of its own since a missing queue closes it). On Redis a
    queue is a list that any push makes: always True."""
    app, connection = client
    if connection.transport.driver_type == "redis":
        return True
    import amqp.exceptions

    channel = connection.channel()
    try:
        channel.queue_declare(queue=queue, passive=True)
        return True
    except amqp.exceptions.NotFound:
        return False
    finally:
        try:
            channel.close()
        except Exception:
            pass


def publish_probes(client, queue, task_name, token, count):
    """`count` probe tasks (args [token, index]) to the probe queue, as send_task publishes
    them (protocol 2), to the default exchange with the queue's name as routing key."""
    app, connection = client
    with app.producer_or_acquire() as producer:
        for index in range(count):
            app.send_task(
                task_name, args=[token, index], queue=queue, declare=[], producer=producer,
                ignore_result=True, retry=False,
            )


def cleanup(client, queue, token, count):
    """Deletes the probe queue: on RabbitMQ the queue; on Redis its list (kombu keeps one per
    priority) and the queue's binding in the default exchange's shared sets."""
    app, connection = client
    if connection.transport.driver_type == "redis":
        redis = connection.default_channel.client
        separator = "\x06\x16"
        redis.delete(queue, *["%s%s%d" % (queue, separator, p) for p in range(1, 10)])
        member = separator.join([queue, "", queue])
        for key in ("_kombu.binding.celery", "_kombu.binding_permanent.celery"):
            redis.srem(key, member)
        return
    channel = connection.channel()
    try:
        channel.queue_delete(queue)
    finally:
        channel.close()


def broker_version(client):
    app, connection = client
    try:
        if connection.transport.driver_type == "redis":
            return "Redis " + connection.default_channel.client.info("server").get("redis_version", "?")
        version = connection.connection.server_properties.get("version", "?")
        return "RabbitMQ " + (version.decode() if isinstance(version, bytes) else str(version))
    except Exception:
        return "?"


def close(client):
    client[1].release()
