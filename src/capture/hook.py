# minrepro capture's hook. A .pth file in the interpreter's site-packages runs this at the
# start-up of every Python process of that interpreter, whatever its environment (a test
# fixture often builds the worker's environment from scratch, so nothing passed through the
# environment would reach it). It does nothing unless the capture session's folder exists
# and the process descends from the captured command.
#
# In those processes it only watches: it records each import (start order, duration, file)
# and, in the first process that imports the trigger module, writes them to the session
# folder as they happen (one O_APPEND write per line, so nothing is lost if the process is
# killed), with the process's sys.path[0] and, when a dramatiq.Worker starts, its thread
# count and the root logger's level. minrepro reads the rest (environment, working
# directory, interpreter, standard streams) from /proc.


def _minrepro_capture(session, root_pid, trigger):
    import json
    import os
    import sys
    import time

    def descends_from_root():
        pid = os.getpid()
        for _ in range(128):
            if pid == root_pid:
                return True
            if pid <= 1:
                return False
            try:
                with open("/proc/%d/stat" % pid) as stat:
                    pid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        return False

    if not os.path.isdir(session) or not descends_from_root():
        return

    state = {"claimed": False, "order": 0, "pending": []}

    import site
    import sysconfig

    paths = sysconfig.get_paths()
    real = os.path.realpath
    stdlib = {real(paths[k]) for k in ("stdlib", "platstdlib") if paths.get(k)}
    third_party = {real(p) for p in site.getsitepackages() + [paths.get("purelib", ""), paths.get("platlib", "")] if p}

    def origin(file):
        """Where a module comes from: the application, the standard library, a package."""
        if not file:
            return "builtin"
        path = real(file)
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts or any(path.startswith(d + os.sep) for d in third_party):
            return "third-party"
        if any(path.startswith(d + os.sep) for d in stdlib):
            return "stdlib"
        return "application"

    def write(record):
        line = (json.dumps(record) + "\n").encode("utf-8")
        fd = os.open(os.path.join(session, "imports-%d.jsonl" % os.getpid()), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def emit(record):
        if state["claimed"]:
            write(record)
        else:
            state["pending"].append(record)

    def claim():
        try:
            fd = os.open(os.path.join(session, "claim"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        try:
            os.write(fd, json.dumps({"pid": os.getpid(), "path0": sys.path[0] if sys.path else None,
                                     "argv": list(sys.argv), "executable": sys.executable}).encode("utf-8"))
        finally:
            os.close(fd)
        state["claimed"] = True
        for record in state["pending"]:
            write(record)
        state["pending"] = []

    def watch_worker(module):
        """Record what a dramatiq.Worker is started with (its threads, the logging set up)."""
        worker_class = getattr(module, "Worker", None)
        if worker_class is None:
            return
        original_init, original_start = worker_class.__init__, worker_class.start

        def __init__(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            emit({"event": "worker", "worker_threads": getattr(self, "worker_threads", None)})

        def start(self, *args, **kwargs):
            import logging

            root = logging.getLogger()
            emit({"event": "logging", "level": logging.getLevelName(root.level), "handlers": len(root.handlers)})
            return original_start(self, *args, **kwargs)

        worker_class.__init__, worker_class.start = __init__, start

    class Loader:
        """The real loader, timed; the module keeps the real one as its __loader__."""

        def __init__(self, real, name):
            self._real, self._name = real, name

        def __getattr__(self, attribute):
            return getattr(self._real, attribute)

        def create_module(self, spec):
            return self._real.create_module(spec)

        def exec_module(self, module):
            module.__loader__ = self._real
            if getattr(module, "__spec__", None) is not None:
                module.__spec__.loader = self._real
            state["order"] += 1
            order, started = state["order"], time.perf_counter()
            if self._name == trigger:
                claim()
            try:
                self._real.exec_module(module)
            finally:
                file = getattr(module, "__file__", None)
                emit({"event": "import", "order": order, "module": self._name, "file": file,
                      "origin": origin(file), "duration_s": round(time.perf_counter() - started, 6)})
            if self._name == "dramatiq.worker" and state["claimed"]:
                watch_worker(module)

    class Finder:
        busy = False

        def find_spec(self, name, path, target=None):
            if Finder.busy:
                return None
            Finder.busy = True
            try:
                for finder in sys.meta_path:
                    if finder is self or not hasattr(finder, "find_spec"):
                        continue
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        break
                else:
                    return None
            finally:
                Finder.busy = False
            if spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return spec
            spec.loader = Loader(spec.loader, name)
            return spec

    sys.meta_path.insert(0, Finder())
