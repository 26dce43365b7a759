"""Keeps a trial's worker apart from every other worker on the same broker, the user's own
included: every name the worker declares, binds, consumes or publishes to on the broker gets
the trial's prefix (`minrepro.<trial>.`), so that `celery` becomes
`minrepro.3fa2c1d0e9ab.celery` on the wire. minrepro sends the launch's messages to the same
renamed destinations, so a worker that consumes `ci-tasks` while the messages went to
`celery` still misses them: a mismatch stays a mismatch. The user's queues, and the messages
in them, are never touched, and two trials never share a queue, a pidbox or a worker name.

The renaming acts where the client libraries talk to the broker, not on the configuration:
pika's and py-amqp's channels (RabbitMQ), kombu's virtual channels (Redis and other kombu
transports), RQ's queue and worker names, the namespace of Dramatiq's RedisBroker. The
application and the framework above them see their own names. Names that are already the
trial's or its probe's (`minrepro_…`), empty (a server-named queue, the default exchange) or
RabbitMQ's own (`amq.*`) stay.

Every queue and exchange declared on RabbitMQ, and every Redis server the worker talks to, is
written to the report before the broker sees it: minrepro deletes what the trial made from
there, also after a worker was killed.
"""
import functools
import inspect

from minrepro_broker_addresses import minrepro_pika_channel_url, minrepro_py_amqp_channel_url, minrepro_redis_url
from minrepro_plumbing import PROBE, info

PREFIX = PROBE.get("names")
_reported = set()


def rename(name):
    """The trial's name for `name` (RabbitMQ's own names, the trial's and minrepro's probe's,
    `minrepro_…`, stay)."""
    if not PREFIX or not isinstance(name, str) or not name or name.startswith(("amq.", PREFIX, "minrepro_")):
        return name
    return PREFIX + name


def original(name):
    """`name` as the application knows it: the trial's prefix taken off."""
    if PREFIX and isinstance(name, str) and name.startswith(PREFIX):
        return name[len(PREFIX):]
    return name


def _queue_arguments(arguments):
    """A queue's arguments with the names in them renamed: its dead-letter exchange, and its
    dead-letter routing key when that goes through the default exchange (a queue name)."""
    if not PREFIX or not isinstance(arguments, dict):
        return arguments
    arguments = dict(arguments)
    exchange = arguments.get("x-dead-letter-exchange")
    if exchange:
        arguments["x-dead-letter-exchange"] = rename(exchange)
    if "x-dead-letter-routing-key" in arguments and not exchange:
        arguments["x-dead-letter-routing-key"] = rename(arguments["x-dead-letter-routing-key"])
    return arguments


def _declared(kind, name, broker):
    """A queue or exchange about to be declared, written down first (once)."""
    if broker is None or not name or not (name.startswith(PREFIX or "\0") or PROBE["token"] in name):
        return
    if (kind, name, broker) in _reported:
        return
    _reported.add((kind, name, broker))
    info("declared", what=kind, name=name, broker=broker)


def _patch(cls, method, rewrite):
    """Wraps `cls.method` so that `rewrite(self, arguments)` renames its bound arguments in
    place first; whatever the client's version calls them positionally or by keyword."""
    original = cls.__dict__.get(method)
    if original is None or getattr(original, "_minrepro", False):
        return original
    try:
        signature = inspect.signature(original)
    except (TypeError, ValueError):
        return original

    @functools.wraps(original)
    def renamed(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original(self, *args, **kwargs)
        # A name left to its default (RQ's queue "default", Dramatiq's namespace) is one too.
        bound.apply_defaults()
        rewrite(self, bound.arguments)
        return original(*bound.args, **bound.kwargs)

    renamed._minrepro = True
    setattr(cls, method, renamed)
    return renamed


def _names(*fields):
    def rewrite(self, arguments):
        for field in fields:
            if field in arguments:
                arguments[field] = rename(arguments[field])

    return rewrite


def _publish(self, arguments):
    """A publication: the exchange renamed; the routing key too when it goes through the
    default exchange, where it is a queue's name."""
    exchange = arguments.get("exchange") or ""
    if not isinstance(exchange, str):  # a kombu Exchange
        exchange = getattr(exchange, "name", "") or ""
    if exchange:
        arguments["exchange"] = rename(exchange)
    elif "routing_key" in arguments:
        arguments["routing_key"] = rename(arguments["routing_key"])


def _amqp_channel(url_of):
    """The rewrites of an AMQP channel class, `url_of(channel)` giving its broker's URL."""

    def declare_queue(self, arguments):
        if "queue" in arguments:
            arguments["queue"] = rename(arguments["queue"])
        if "arguments" in arguments:
            arguments["arguments"] = _queue_arguments(arguments["arguments"])
        if not arguments.get("passive"):
            _declared("queue", arguments.get("queue"), url_of(self))

    def declare_exchange(self, arguments):
        if "exchange" in arguments:
            arguments["exchange"] = rename(arguments["exchange"])
        if not arguments.get("passive"):
            _declared("exchange", arguments.get("exchange"), url_of(self))

    return {
        "queue_declare": declare_queue,
        "exchange_declare": declare_exchange,
        "queue_bind": _names("queue", "exchange"),
        "queue_unbind": _names("queue", "exchange"),
        "queue_delete": _names("queue"),
        "queue_purge": _names("queue"),
        "exchange_delete": _names("exchange"),
        "exchange_bind": _names("destination", "source"),
        "exchange_unbind": _names("destination", "source"),
        "basic_consume": _names("queue"),
        "basic_get": _names("queue"),
    }


def _patch_channel(cls, url_of, publish_methods):
    for method, rewrite in _amqp_channel(url_of).items():
        _patch(cls, method, rewrite)
    for method in publish_methods:
        original = cls.__dict__.get(method)
        patched = _patch(cls, method, _publish)
        # py-amqp: `basic_publish = _basic_publish`, an alias of the same function.
        if method == "_basic_publish" and cls.__dict__.get("basic_publish") is original:
            cls.basic_publish = patched


def _patch_pika(module):
    _patch_channel(module.Channel, minrepro_pika_channel_url, ["basic_publish"])


def _patch_py_amqp(module):
    _patch_channel(module.Channel, minrepro_py_amqp_channel_url, ["_basic_publish"])


def _patch_kombu_virtual(module):
    """kombu's virtual transports (Redis, SQS, the in-memory one) emulate AMQP on a channel
    class of their own; each transport's subclass may override its methods, so every class
    of the family is patched (the renaming is idempotent: an inner call sees the trial's
    names and leaves them)."""
    base = getattr(module, "Channel", None)
    if base is None:
        return
    classes, pending = [], [base]
    while pending:
        cls = pending.pop()
        classes.append(cls)
        pending.extend(cls.__subclasses__())
    for cls in classes:
        for method, rewrite in _amqp_channel(lambda channel: None).items():
            _patch(cls, method, rewrite)
        _patch(cls, "basic_publish", _publish)


def _patch_kombu_transport(module):
    """A kombu transport imported after the virtual base: its channel class is new."""
    import sys

    virtual = sys.modules.get("kombu.transport.virtual.base")
    if virtual is not None:
        _patch_kombu_virtual(virtual)


def _patch_rq_queue(module):
    _patch(module.Queue, "__init__", _names("name"))


def _patch_rq_worker(module):
    # RQ 2's BaseWorker, RQ 1's Worker: a name given to the worker (`--name`) is renamed; the
    # default is a fresh uuid already.
    for attribute in ("BaseWorker", "Worker"):
        cls = getattr(module, attribute, None)
        if cls is not None:
            _patch(cls, "__init__", _names("name"))


def _patch_dramatiq_redis(module):
    _patch(module.RedisBroker, "__init__", _names("namespace"))


def _patch_redis(module):
    """Reports each Redis server (host, port, database) a connection pool of the worker is
    made for: minrepro deletes the trial's keys there after it."""
    pool = getattr(module, "ConnectionPool", None)
    if pool is None:
        return
    original = pool.__init__
    if getattr(original, "_minrepro", False):
        return

    @functools.wraps(original)
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        try:
            url = minrepro_redis_url(self)
            if url.startswith("unix:"):
                return
            if ("redis", url) not in _reported:
                _reported.add(("redis", url))
                info("redis", url=url)
        except Exception:
            pass

    init._minrepro = True
    pool.__init__ = init


# Module → what to patch once it is imported (or at once if it already is).
PATCHES = {
    "pika.channel": _patch_pika,
    "amqp.channel": _patch_py_amqp,
    "kombu.transport.virtual.base": _patch_kombu_virtual,
    "kombu.transport.redis": _patch_kombu_transport,
    "rq.queue": _patch_rq_queue,
    "rq.worker": _patch_rq_worker,
    "rq.worker.base": _patch_rq_worker,
    "dramatiq.brokers.redis": _patch_dramatiq_redis,
    "redis.connection": _patch_redis,
}
