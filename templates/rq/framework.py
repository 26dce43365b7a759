"""The RQ side of minrepro's plumbing: the probe job's function, the Redis connection and
queues the worker reports, the versions it records.

The probe job names this module's `probe` function ("minrepro_framework.probe", the `actor`
of probe.json is ignored: RQ imports a job's function by its dotted name). RQ's work horse
is forked from the worker, which has already imported this module, so the horse finds it
(SimpleWorker runs the job in the worker itself).

RQ's own worker class is kept (the CLI may be given another with --worker-class): minrepro
patches methods of the class all of RQ's worker classes derive from (BaseWorker, or RQ 1's
Worker), which none of them overrides: its start, `bootstrap` (or `register_birth` before
RQ had it: the worker registers itself and starts listening: `worker:started`; the probe
queue is added to the worker's queues there, so the CLI's queue list, or its config
module's QUEUES, stays exactly what the launch gave), `dequeue_job_and_maintain_ttl` (the
worker took a job from a queue: `probe:received`) and `perform_job` (a replayed job ran)."""
import sys

from minrepro_plumbing import PROBE, exception, message_event, ours, probe_index, redis_location, report, report_top_level_modules, report_versions, start

# The dotted name the probe job must carry (the `actor` the Rust side puts in the job).
PROBE_FUNCTION = "minrepro_framework.probe"

_state = {"broker_reported": False, "cli": False}


def probe(token, index=0):
    """The probe job: RQ's work horse imports it by its dotted name and calls it."""
    report("probe:processed", token=token, index=index)


def import_spec(spec):
    """Imports `module`, or `module:attribute`; returns (module, attribute value or None)."""
    import functools
    import importlib

    name, _, attribute = spec.partition(":")
    module = importlib.import_module(name)
    value = functools.reduce(getattr, attribute.split("."), module) if attribute else None
    return module, value


def _as_connection(value):
    """The Redis connection a value stands for: a Redis client, a Queue's or Worker's
    connection, or what a factory (a function without arguments) returns."""
    from redis import Redis

    if isinstance(value, Redis):
        return value
    connection = getattr(value, "connection", None)
    if isinstance(connection, Redis):
        return connection
    if callable(value) and not isinstance(value, type):
        try:
            made = value()
        except TypeError:
            return None
        return made if isinstance(made, Redis) else None
    return None


def connection_for(imported):
    """The connection an application's worker script would give its Worker: the one the
    `module:attribute` import names, else the first Redis client an imported module defines
    at its top level (`from app.redis import conn`), else minrepro's own Redis.
    `imported` is [(spec, module, attribute value)] in import order."""
    from redis import Redis

    for spec, _module, value in imported:
        if ":" in spec:
            connection = _as_connection(value)
            if connection is not None:
                return connection, "imports (%s)" % spec
    for spec, module, _value in imported:
        for attribute, value in list(vars(module).items()):
            if isinstance(value, Redis) and not attribute.startswith("__"):
                return value, "imports (%s.%s)" % (module.__name__, attribute)
    return Redis.from_url(PROBE["broker_url"]), "minrepro"


def _address(connection):
    """Where the connection goes: host, port and database (as `vhost`); or that it is an
    in-memory fake (fakeredis), which nothing outside this process reaches."""
    if type(connection).__module__.split(".")[0] == "fakeredis":
        return {"in_memory": True}
    pool = getattr(connection, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) or {}
    address = {"host": kwargs.get("host", kwargs.get("path")), "port": kwargs.get("port"), "vhost": str(kwargs.get("db", 0))}
    return address


def report_broker(connection, set_by):
    _state["broker_reported"] = True
    report("broker:ready", broker=type(connection).__name__, set_by=set_by, **_address(connection))


def _cli_set_by():
    """How RQ's CLI chose its connection, when the worker is the CLI's."""
    frame = sys._getframe()
    while frame is not None:
        config = frame.f_locals.get("cli_config") if frame.f_globals.get("__name__", "").startswith("rq.cli") else None
        if config is not None:
            if getattr(config, "url", None):
                return "the CLI's --url (or RQ_REDIS_URL)"
            if getattr(config, "config", None):
                return "the CLI's --config module (%s)" % config.config
            return "the CLI's defaults (REDIS_* variables)"
        frame = frame.f_back
    return "the worker's connection"


def _probe_job(result):
    """The (job, queue) a dequeue returned, when it is the probe's."""
    if not result:
        return None
    job, queue = result
    if getattr(queue, "name", None) != PROBE["queue"]:
        return None
    return job


def _worker_class():
    """The class every RQ worker class derives from: RQ 2's (and late 1.x's) BaseWorker, else
    RQ 1's Worker."""
    import rq.worker

    return getattr(rq.worker, "BaseWorker", None) or rq.worker.Worker


def install(cli=False):
    """Patches RQ's worker (once per interpreter) to add the probe queue and report the
    stages; `cli`: the worker is the CLI's (its connection is reported when it starts).
    The worker's start is `bootstrap` where RQ has it (1.14 on), `register_birth` (which
    every RQ's work loop calls first) before."""
    start((), main=False)
    _state["cli"] = _state["cli"] or cli
    base = _worker_class()
    starting = "bootstrap" if hasattr(base, "bootstrap") else "register_birth"
    original_start = getattr(base, starting)
    if getattr(original_start, "_minrepro", False):
        return
    report_versions("rq", "redis", "click", "django", "django-rq")
    original_dequeue = base.dequeue_job_and_maintain_ttl

    def started(self, *args, **kwargs):
        if not _state["broker_reported"]:
            report_broker(self.connection, _cli_set_by())
        if PROBE["queue"] not in self.queue_names():
            # The probe's queue, after the worker's own (as the CLI would make it).
            extra = {"serializer": self.serializer} if hasattr(self, "serializer") else {}
            queue = self.queue_class(PROBE["queue"], connection=self.connection, job_class=self.job_class, **extra)
            self.queues.append(queue)
            if hasattr(self, "_ordered_queues"):  # the order the worker polls in (RQ 1.x on)
                self._ordered_queues.append(queue)
        try:
            result = original_start(self, *args, **kwargs)
        except BaseException as exc:
            # RQ's CLI logs a failed start (Redis unreachable, a live worker of that name)
            # and exits 1: say what it was first.
            exception(exc)
            raise
        report(
            "worker:started",
            queues=self.queue_names(),
            threads=1,
            worker=type(self).__module__ + "." + type(self).__qualname__,
            name=self.name,
            key=self.key,
            broker=type(self.connection).__name__,
            **_address(self.connection),
        )
        report_top_level_modules()
        return result

    def dequeue_job_and_maintain_ttl(self, *args, **kwargs):
        try:
            result = original_dequeue(self, *args, **kwargs)
        except Exception as exc:
            # RQ's work loop logs an unexpected error here and quits (exit status 0): say
            # what it was first. A requested stop is no error.
            if type(exc).__name__ != "StopRequested":
                exception(exc)
            raise
        job = _probe_job(result)
        if job is not None:
            try:
                index = probe_index(job.args)
            except Exception as exc:  # a job the worker's serializer cannot read
                report("probe:received", index=None, error="%s: %s" % (type(exc).__name__, exc))
            else:
                report("probe:received", index=index)
        return result

    started._minrepro = True
    setattr(base, starting, started)
    base.dequeue_job_and_maintain_ttl = dequeue_job_and_maintain_ttl
    _watch_jobs()


def _watch_jobs():
    """The launch's jobs, replayed with ids of the trial's: received, executed (with the
    job's status, its result kept in its hash on the worker's Redis), or discarded when
    the job's function cannot be imported (RQ then fails the job unrun). `perform_job` runs
    in the work horse (or in the worker itself for SimpleWorker)."""
    from rq.worker import Worker

    owner = next((cls for cls in Worker.__mro__ if "perform_job" in cls.__dict__), None)
    if owner is None or getattr(owner.perform_job, "_minrepro", False):
        return
    original_perform = owner.perform_job

    def perform_job(self, job, *args, **kwargs):
        replayed = ours(job.id)
        if replayed:
            try:
                job.func  # imports the job's function, as performing it will
            except Exception as exc:
                message_event(job.id, "discarded", how="unknown-task", words="%s: %s" % (type(exc).__name__, exc))
            else:
                message_event(job.id, "received", task=job.func_name)
        result = original_perform(self, job, *args, **kwargs)
        if replayed:
            try:
                status = job.get_status(refresh=True)
            except Exception:
                status = None
            message_event(job.id, "executed", outcome=str(getattr(status, "value", status)), result=redis_location(self.connection))
        return result

    perform_job._minrepro = True
    owner.perform_job = perform_job
