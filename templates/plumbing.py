"""minrepro's plumbing inside a generated worker, the same for every framework: start-up stage
reports, stack dumps, reduced sources. The framework's own part (the probe task, the broker
it reports) is minrepro_framework.py beside it.

Nothing here reads the environment or changes what the worker does, so that stripping env
vars or options cannot break the probe, and a worker with this module behaves as one
without it. Stages and facts go to report.jsonl beside this file, one O_APPEND write per
line (lines of several processes never interleave). The probe's settings (broker URL,
queue, actor, token, how many messages) come from probe.json beside this file.
"""
import faulthandler
import json
import os
import signal
import sys
import time

DIR = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(DIR, "report.jsonl")
with open(os.path.join(DIR, "probe.json"), encoding="utf-8") as _probe_file:
    PROBE = json.load(_probe_file)
# Modules of the application served from reduced text (statement-level reduction): module
# name -> source. The module keeps its real file name, package and loader otherwise.
try:
    with open(os.path.join(DIR, "minrepro_sources.json"), encoding="utf-8") as _sources_file:
        SOURCES = json.load(_sources_file)
except FileNotFoundError:
    SOURCES = {}

# A real-time signal, so that it cannot collide with a signal the application handles.
DUMP_SIGNAL = signal.SIGRTMIN + 5 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2

_state = {"pid": None, "dump_file": None, "stages": frozenset(), "parents": {}, "after_import": {}}


def write(record):
    fd = os.open(REPORT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def report(stage, event="point", **fields):
    """A start-up stage reached: the last one tells where a stuck worker is."""
    write(dict(t=time.time(), pid=os.getpid(), stage=stage, event=event, **fields))


def probe_index(args):
    """The index of a probe message from its arguments, (token, index): 0 when absent."""
    return args[1] if len(args) > 1 else 0


def info(kind, **fields):
    """A fact about the worker that is not a stage (versions, an exception)."""
    write(dict(t=time.time(), pid=os.getpid(), info=kind, **fields))


def ours(message_id):
    """Whether a message is one of the launch's that minrepro replays in this trial: its id
    (fresh for the trial) ends with the trial's token."""
    return isinstance(message_id, str) and message_id.endswith(PROBE["token"])


def message_event(message_id, state, **fields):
    """What the worker did with a replayed message: "received", "executed" (with `state`,
    and `result`: where it stored the result, None for nowhere), "discarded" (`how`: one
    of unknown-task, refused, undecodable, skipped, dead-lettered; `words`: the
    framework's)."""
    info("message", id=message_id, state=state, **fields)


def redis_location(connection, namespace=None):
    """Where a redis-py client stores: redis://host:port/db (and #namespace), no credentials."""
    kwargs = getattr(getattr(connection, "connection_pool", None), "connection_kwargs", {}) or {}
    location = "redis://%s:%s/%s" % (kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0))
    return location + ("#" + namespace if namespace else "")


def exception(exc):
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else kind.__module__ + "." + kind.__qualname__
    info("exception", type=name, message=str(exc)[:4000])


def _register_dump():
    # The dump must not go to stderr (it may be the very pipe the worker is stuck on), and
    # each process gets a file of its own: forked workers must not share one file offset.
    _state["dump_file"] = open(os.path.join(DIR, "stacks-%d.txt" % os.getpid()), "a")
    faulthandler.register(DUMP_SIGNAL, file=_state["dump_file"], all_threads=True, chain=False)
    _state["pid"] = os.getpid()


def _after_fork():
    _register_dump()
    _die_with_parent()
    report("python:forked", dump_signal=int(DUMP_SIGNAL), parent=os.getppid())


def _die_with_parent():
    """A forked worker process goes when the process that forked it goes (minrepro killed
    with SIGKILL takes its worker's whole tree with it); Linux only, otherwise nothing."""
    try:
        _state["libc"].prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def start(stages, main):
    """Once per interpreter: stack dumps on a signal (inherited by forked processes, which
    get files of their own), the first stage, and a stage report around the import of each
    module named in `stages` (`module:attribute` counts as `module`), in whatever process
    imports it."""
    if _state["pid"] == os.getpid():
        return
    _register_dump()
    try:
        import ctypes  # loaded here: nothing is imported in a process just forked

        _state["libc"] = ctypes.CDLL(None, use_errno=True)
    except Exception:
        pass
    os.register_at_fork(after_in_child=_after_fork)
    report(
        "python:started",
        dump_signal=int(DUMP_SIGNAL),
        python=sys.version.split()[0],
        executable=sys.executable,
        main=main,
    )
    _state["stages"] = frozenset(name.split(":")[0] for name in stages)
    # A module whose package cannot be found fails at the package: that is its stage too.
    for module in _state["stages"]:
        parts = module.split(".")
        for end in range(1, len(parts)):
            _state["parents"].setdefault(".".join(parts[:end]), module)
    # The trial's names on the broker (minrepro_isolation.py): patched into the broker
    # clients as they are imported, or at once where they already are.
    import minrepro_isolation

    _state["after_import"] = minrepro_isolation.PATCHES
    for name, patch in minrepro_isolation.PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _StageFinder())


class _StageLoader:
    """The real loader, with the import reported around it (and the module's code read from
    SOURCES when it is there); the module keeps the real one as its __loader__."""

    def __init__(self, real, name, origin):
        self._real, self._name, self._origin = real, name, origin
        self._after = _state["after_import"].get(name)

    def __getattr__(self, attribute):
        return getattr(self._real, attribute)

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._real
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._real
        staged = self._name in _state["stages"]
        stage = "import:" + self._name
        if staged:
            report(stage, "begin", origin=self._origin)
        started = time.perf_counter()
        try:
            if self._name in SOURCES:
                # Compiled under the real file name: tracebacks and __file__ stay the same, and
                # the reduced text keeps every kept statement on its original line.
                exec(compile(SOURCES[self._name], self._origin or self._name, "exec"), module.__dict__)
            else:
                self._real.exec_module(module)
        except BaseException as exc:
            # Dramatiq's CLI logs a failed import and exits: say what it was first.
            if staged:
                exception(exc)
            raise
        if staged:
            report(stage, "end", duration_s=round(time.perf_counter() - started, 6))
        if self._after is not None:
            self._after(module)


class _StageFinder:
    busy = False

    def find_spec(self, name, path, target=None):
        watched = name in _state["stages"] or name in SOURCES or name in _state["after_import"]
        if _StageFinder.busy or (not watched and name not in _state["parents"]):
            return None
        _StageFinder.busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                # Not found: the import of the module (or of its package) fails here.
                if name in _state["stages"] or name in _state["parents"]:
                    report("import:" + (name if name in _state["stages"] else _state["parents"][name]), "begin")
                return None
        finally:
            _StageFinder.busy = False
        if not watched:
            return spec
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _StageLoader(spec.loader, name, spec.origin if spec.has_location else None)
        return spec


def report_top_level_modules():
    """The top-level modules the worker has imported: minrepro maps them to the installed
    distributions a repro needs (cheaply, here; the mapping is made once, later)."""
    info("modules", top_level=sorted({name.partition(".")[0] for name in list(sys.modules)}))


def report_versions(*distributions):
    """The versions of the installed distributions among `distributions`."""
    import importlib.metadata

    found = {}
    for name in distributions:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    info("versions", **found)


def import_framework(name):
    """`import <framework>`, telling a missing package (the interpreter's fault) apart from a
    failing one (the configuration's)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            info("missing-module", module=exc.name, executable=sys.executable)
        raise
