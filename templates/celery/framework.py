"""The Celery side of minrepro's plumbing: the probe task on the application's Celery app,
the probe queue added to what the worker consumes anyway, the broker and queues the worker
reports, the versions it records.

Everything hangs on Celery's own worker signals, so the in-process worker and Celery's
command line (prefork, solo, threads...) go through the same code:
- `celeryd_init` (the worker is being built, in the main process): `broker:ready` and the
  probe task, registered on the worker's own app (`instance.app`) under PROBE["actor"],
  as an application module registers its own tasks (the pool's processes are forked later
  and inherit it);
- `celeryd_after_setup` (after `-Q`/`-X` were applied, before the consumer starts): the
  probe queue added with `app.amqp.queues.select_add`, the documented way to add a queue
  to what a worker consumes without changing anything else;
- `worker_ready` (the consumer consumes): `worker:started`;
- `task_received` (main process): `probe:received`; the task body: `probe:processed`;
- `task_unknown`, `task_rejected` (the consumer acknowledged the probe without running it):
  `probe_dropped`, which minrepro takes as proof that the worker is stuck for good.

The launch's own messages, replayed with ids of the trial's, are followed through the same
signals: `task_prerun` (received), `task_postrun` (executed, with where the result was
stored: after Celery stored it), `task_unknown` and `task_rejected` (discarded, how), and a
message the consumer cannot decode at all.
"""
from minrepro_plumbing import PROBE, info, message_event, ours, probe_index, redis_location, report, report_top_level_modules, report_versions, start

_state = {"connected": False, "set_by": "the CLI's -A argument", "fallback": None}


def fallback_app():
    """The app minrepro makes when no imported module defines one: minrepro's broker."""
    if _state["fallback"] is None:
        from celery import Celery

        _state["fallback"] = Celery("minrepro", broker=PROBE["broker_url"], set_as_current=True)
    return _state["fallback"]


def _find_in(spec):
    """The app of `spec` as `celery -A spec` finds it (module:attribute, or a module's `app`,
    `celery`, `<package>.celery` or any Celery instance in it); None when there is none."""
    from celery.app.utils import find_app

    try:
        return find_app(spec)
    except AttributeError:
        return None


def find_app(imports):
    """Imports the modules in order (the first as `celery -A` does); the app is the one the
    first names, else the first Celery instance another defines, else minrepro's own."""
    import importlib

    from celery import Celery

    app = None
    modules = []
    for position, spec in enumerate(imports):
        name = spec.partition(":")[0]
        if position == 0:
            app = _find_in(spec)
        modules.append(importlib.import_module(name))
    if app is None:
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, Celery):
                    app = value
                    break
            if app is not None:
                break
    if app is None:
        _state["set_by"] = "minrepro"
        return fallback_app()
    _state["set_by"] = "imports"
    return app


def address(app):
    """Where the app's broker is: transport, host, port and vhost (Redis: the database)."""
    connection = app.connection_for_write()
    transport = type(connection.transport)
    kind = transport.__module__.rsplit(".", 1)[-1] + "." + transport.__name__
    try:
        details = connection.info()
    except Exception:
        details = {}
    vhost = details.get("virtual_host", connection.virtual_host)
    if transport.__module__.endswith(".redis"):
        vhost = (vhost or "").strip("/") or "0"
    if transport.__module__.endswith(".memory"):
        # kombu's in-memory transport (`memory://`): nothing outside this process reaches it.
        return {"broker": kind, "in_memory": True}
    return {
        "broker": kind,
        "host": details.get("hostname", connection.hostname),
        "port": details.get("port", connection.port),
        "vhost": vhost,
    }


def _probe(token, index=0):
    report("probe:processed", token=token, index=index)


def _on_init(sender=None, instance=None, **kwargs):
    start((), main=False)
    app = instance.app
    report("broker:ready", set_by=_state["set_by"], **address(app))
    report_versions("celery", "kombu", "amqp", "redis", "billiard", "vine", "django", "django-celery-results")
    if PROBE["actor"] not in app.tasks:
        app.task(name=PROBE["actor"], shared=False)(_probe)


def _on_after_setup(sender=None, instance=None, **kwargs):
    instance.app.amqp.queues.select_add(PROBE["queue"])


def _on_ready(sender=None, **kwargs):
    consumer = sender
    app = consumer.app
    try:
        queues = sorted(queue.name for queue in consumer.task_consumer.queues)
    except Exception:
        queues = sorted(app.amqp.queues.consume_from)
    controller = getattr(consumer, "controller", None)
    pool = getattr(controller, "pool_cls", None)
    report(
        "worker:started",
        queues=queues,
        threads=getattr(controller, "concurrency", None),
        pool=getattr(pool, "__module__", str(pool)).rsplit(".", 1)[-1] if pool is not None else None,
        hostname=getattr(consumer, "hostname", None),
        set_by=_state["set_by"],
        **address(app),
    )
    report_top_level_modules()


def _on_received(sender=None, request=None, **kwargs):
    if getattr(request, "name", None) == PROBE["actor"]:
        args = getattr(request, "args", None) or ()
        report("probe:received", index=probe_index(args))


def _on_dropped(how):
    """A handler for a signal Celery sends when it discards a message unprocessed."""

    def handler(sender=None, message=None, name=None, **kwargs):
        headers = getattr(message, "headers", None) or {}
        if (name or headers.get("task")) != PROBE["actor"]:
            return
        try:
            args = message.payload[0]
            token, index = args[0], probe_index(args)
        except Exception:
            return
        info("probe_dropped", token=token, index=index, how=how)

    return handler


def backend_location(backend, app=None):
    """Where a result backend keeps results, as a URL without credentials; None when it
    keeps none (no backend configured)."""
    name = type(backend).__name__
    if name == "DisabledBackend":
        return None
    client = getattr(backend, "client", None) if hasattr(backend, "connparams") else None
    if client is not None:
        return redis_location(client)
    if name == "RPCBackend":
        # Results go back over the broker, to the sender's reply queue.
        connection = (app or backend.app).connection_for_write()
        return "rpc://%s:%s/%s" % (connection.hostname, connection.port, connection.virtual_host)
    try:
        return backend.as_uri()
    except Exception:
        return name


def _message_id(message):
    headers = getattr(message, "headers", None) or {}
    task_id = headers.get("id")
    if task_id is None:
        try:
            task_id = message.payload.get("id")  # protocol 1
        except Exception:
            task_id = None
    return task_id


def _on_prerun(sender=None, task_id=None, task=None, **kwargs):
    if ours(task_id):
        message_event(task_id, "received", task=getattr(task, "name", None))


def _on_postrun(sender=None, task_id=None, task=None, state=None, **kwargs):
    if not ours(task_id):
        return
    stored = None
    if task is not None and not getattr(task, "ignore_result", False):
        try:
            stored = backend_location(task.backend, task.app)
        except Exception:
            stored = None
    message_event(task_id, "executed", outcome=state, result=stored)


def _on_unknown(sender=None, message=None, exc=None, name=None, id=None, **kwargs):
    if ours(id):
        message_event(id, "discarded", how="unknown-task", words="Received unregistered task of type %r" % name)


def _on_rejected(sender=None, message=None, exc=None, **kwargs):
    task_id = _message_id(message)
    if not ours(task_id):
        return
    refused = type(exc).__name__ == "ContentDisallowed"
    words = str(exc) if exc is not None else "a message of an unknown format"
    message_event(task_id, "discarded", how="refused" if refused else "undecodable", words=words)


def _watch_decode_errors():
    """A message kombu cannot decode at all (not even to reject it as a task): Celery's
    consumer logs it and acknowledges it."""
    from celery.worker.consumer.consumer import Consumer

    handler = Consumer.__dict__.get("on_decode_error")
    if handler is None or getattr(handler, "_minrepro", False):
        return

    def on_decode_error(self, message, exc):
        task_id = _message_id(message)
        if ours(task_id):
            message_event(task_id, "discarded", how="undecodable", words="%s: %s" % (type(exc).__name__, exc))
        return handler(self, message, exc)

    on_decode_error._minrepro = True
    Consumer.on_decode_error = on_decode_error


def watch():
    """Connects minrepro's handlers to Celery's worker signals (once per process)."""
    if _state["connected"]:
        return
    from celery import signals

    signals.celeryd_init.connect(_on_init, weak=False)
    signals.celeryd_after_setup.connect(_on_after_setup, weak=False)
    signals.worker_ready.connect(_on_ready, weak=False)
    signals.task_received.connect(_on_received, weak=False)
    # The probe is acknowledged and gone, never to be processed.
    signals.task_unknown.connect(_on_dropped("the worker's app has no task of that name"), weak=False)
    signals.task_rejected.connect(_on_dropped("rejected: the message's content type is not accepted"), weak=False)
    signals.task_prerun.connect(_on_prerun, weak=False)
    signals.task_postrun.connect(_on_postrun, weak=False)
    signals.task_unknown.connect(_on_unknown, weak=False)
    signals.task_rejected.connect(_on_rejected, weak=False)
    try:
        _watch_decode_errors()
    except Exception:  # another Celery layout: decode errors go unreported
        pass
    _state["connected"] = True


def in_process_worker(app, concurrency, loglevel):
    """Celery's worker program (`app.Worker`, what `celery worker` runs) in this process: the
    solo pool for one, the threads pool for more (no fork: the worker is this process)."""
    worker = app.Worker(
        pool="solo" if concurrency <= 1 else "threads",
        concurrency=concurrency,
        loglevel=loglevel or "WARNING",
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    return worker.exitcode

