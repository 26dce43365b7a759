"""The Dramatiq side of minrepro's plumbing: the probe actor on the application's broker,
the broker and queues the worker reports, the versions it records."""
import sys

from minrepro_isolation import original as original_name
from minrepro_plumbing import PROBE, info, message_event, ours, probe_index, redis_location, report, report_top_level_modules, report_versions, start


def import_spec(spec):
    """Imports `module`, or `module:attribute` as Dramatiq's CLI takes its broker argument:
    a function is called (it sets the broker up), a broker is made the global one."""
    import importlib

    name, _, attribute = spec.partition(":")
    module = importlib.import_module(name)
    if attribute:
        import functools

        import dramatiq

        value = functools.reduce(getattr, attribute.split("."), module)
        if callable(value) and not isinstance(value, dramatiq.Broker):
            value()
        elif isinstance(value, dramatiq.Broker):
            dramatiq.set_broker(value)
    return module


def _address(broker):
    """Where the broker is: host, port and vhost (RabbitMQ) or database (Redis); or that it
    is in memory (the StubBroker of tests), where nothing outside this process reaches it."""
    from dramatiq.brokers.stub import StubBroker

    if isinstance(broker, StubBroker):
        return {"in_memory": True}
    client = getattr(broker, "client", None)
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        # A RedisBroker's keys live in a namespace: another namespace is another broker.
        kwargs = getattr(pool, "connection_kwargs", {})
        # As the application named it: the trial's prefix is minrepro's (minrepro_isolation).
        namespace = original_name(getattr(broker, "namespace", "dramatiq"))
        database = str(kwargs.get("db", 0))
        vhost = database if namespace == "dramatiq" else "%s:%s" % (database, namespace)
        return {"host": kwargs.get("host"), "port": kwargs.get("port"), "vhost": vhost}
    parameters = getattr(broker, "parameters", None)
    if isinstance(parameters, list):
        parameters = parameters[0] if parameters else None
    if parameters is None:
        return {}
    return {
        "host": getattr(parameters, "host", None),
        "port": getattr(parameters, "port", None),
        "vhost": getattr(parameters, "virtual_host", None),
    }


def _result_location(broker, message):
    """Where Dramatiq's Results middleware stored the message's result (redis://…#namespace),
    None when it stored none (no such middleware, or an actor that does not store results)."""
    try:
        from dramatiq.results import Results
    except Exception:
        return None
    try:
        actor = broker.get_actor(message.actor_name)
    except Exception:
        return None
    for middleware in broker.middleware:
        if isinstance(middleware, Results):
            stores = message.options.get("store_results", actor.options.get("store_results", middleware.store_results))
            if not stores:
                return None
            backend = middleware.backend
            client = getattr(backend, "client", None)
            if client is not None:
                return redis_location(client, getattr(backend, "namespace", None))
            return type(backend).__name__
    return None


def _watch_worker_start():
    """Reports `worker:started` when any dramatiq.Worker has started, with the broker it
    consumes from: under the CLI, that broker may differ from the global one."""
    from dramatiq.worker import Worker

    if getattr(Worker.start, "_minrepro", False):
        return
    original = Worker.start

    def start(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        broker = self.broker
        whitelist = getattr(self, "consumer_whitelist", None)
        report(
            "worker:started",
            queues=sorted(broker.get_declared_queues()),
            consumes=sorted(whitelist) if whitelist else None,
            threads=getattr(self, "worker_threads", None),
            broker=type(broker).__name__,
            # A RedisBroker's heartbeat entry, which minrepro removes after the trial.
            namespace=getattr(broker, "namespace", None),
            worker_id=getattr(broker, "broker_id", None),
            **_address(broker),
        )
        report_top_level_modules()
        return result

    start._minrepro = True
    Worker.start = start


def _cli_broker():
    """The broker Dramatiq's CLI took from its first argument, when the probe module is
    being imported by one of the CLI's worker processes."""
    frame = sys._getframe()
    while frame is not None:
        # The CLI lives in dramatiq.cli (1.4 on), in dramatiq's __main__ before.
        package = (frame.f_globals.get("__package__") or frame.f_globals.get("__name__") or "").split(".")[0]
        if frame.f_code.co_name == "worker_process" and package == "dramatiq":
            return frame.f_locals.get("broker")
        frame = frame.f_back
    return None


def declare_probe():
    """Declares the probe actor on the global broker, as an application's own actor would be
    declared; if no import set a broker, sets one for minrepro's broker URL first."""
    start((), main=False)  # a process started by spawn has not run the launch's start()
    import dramatiq
    import dramatiq.broker

    if dramatiq.broker.global_broker is not None:
        broker, set_by = dramatiq.get_broker(), "imports"
    elif _cli_broker() is not None:
        # `dramatiq module:broker` with nothing on the global broker: the application's
        # actors are bound to that broker, the one the CLI's worker consumes from.
        broker, set_by = _cli_broker(), "the CLI's broker argument"
    elif PROBE["broker_url"].startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        dramatiq.set_broker(RedisBroker(url=PROBE["broker_url"]))
        broker, set_by = dramatiq.get_broker(), "minrepro"
    else:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        dramatiq.set_broker(RabbitmqBroker(url=PROBE["broker_url"]))
        broker, set_by = dramatiq.get_broker(), "minrepro"
    report("broker:ready", broker=type(broker).__name__, set_by=set_by, **_address(broker))
    report_versions("dramatiq", "pika", "redis", "django", "django-dramatiq")
    _watch_worker_start()

    def _dropped(message, how):
        if message.actor_name == PROBE["actor"] and message.args:
            info("probe_dropped", token=message.args[0], index=probe_index(message.args), how=how)

    executed = set()

    class _MinreproStages(dramatiq.Middleware):
        def before_process_message(self, broker, message):
            if message.actor_name == PROBE["actor"]:
                report("probe:received", index=probe_index(message.args))
            if ours(message.message_id):
                message_event(message.message_id, "received", task=message.actor_name)

        def after_process_message(self, broker, message, *, result=None, exception=None):
            if ours(message.message_id):
                executed.add(message.message_id)
                message_event(
                    message.message_id,
                    "executed",
                    outcome="FAILURE" if exception is not None else "SUCCESS",
                    result=_result_location(broker, message),
                )

        # A probe skipped (a middleware raised SkipMessage) or rejected (failed, then
        # dead-lettered) is gone from its queue unprocessed: it can never be processed.
        def after_skip_message(self, broker, message):
            _dropped(message, "skipped: a middleware raised SkipMessage, and the message was acknowledged")
            if ours(message.message_id):
                message_event(message.message_id, "discarded", how="skipped", words="a middleware raised SkipMessage")

        def after_nack(self, broker, message):
            _dropped(message, "rejected (nack): the message failed and went to the dead-letter queue")
            if ours(message.message_id) and message.message_id not in executed:
                if message.actor_name not in broker.actors:
                    how, words = "unknown-task", "Received message for undefined actor %r. Moving it to the DLQ." % message.actor_name
                else:
                    how, words = "dead-lettered", "the message was rejected to the dead-letter queue without running"
                message_event(message.message_id, "discarded", how=how, words=words)

    broker.add_middleware(_MinreproStages())

    def _minrepro_probe(token, index=0):
        report("probe:processed", token=token, index=index)

    dramatiq.actor(_minrepro_probe, actor_name=PROBE["actor"], queue_name=PROBE["queue"], broker=broker)
    return broker
