# minrepro capture's hook. A .pth file in the interpreter's site-packages runs this at the
# start-up of every Python process of that interpreter, whatever its environment (a test
# fixture often builds the worker's environment from scratch, so nothing passed through the
# environment would reach it). It does nothing unless the capture session's folder exists
# and the process descends from the captured command.
#
# In those processes it only watches, and writes what it sees to the session folder (one
# O_APPEND write per line, so that nothing is lost if the process is killed):
#   processes.jsonl   every process: its pid, parent, argv, interpreter (also after a fork)
#   imports-PID.jsonl each application module a process imports, in order, with its time
#   candidates.jsonl  each process that starts a dramatiq.Worker, or that Dramatiq's CLI
#                     forked to run one (said before its first import: its worker may never
#                     start), or that imports the --match module: how it was launched, the
#                     CLI's arguments read with the CLI's own parser, the worker's threads
#                     and queues, logging, Django
#   enqueued.jsonl    each message any process enqueued, by queue (the load of the launch)
#   processed.jsonl   each message a worker processed
# minrepro reads the rest (environment, working directory, standard streams) from /proc.


def _minrepro_capture(session, root_pid, match):
    import os
    import sys

    # site.py may read the same .pth twice (lib and lib64 of one environment).
    if getattr(sys, "_minrepro_capture_session", None) == session:
        return

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
    sys._minrepro_capture_session = session

    import json
    import site
    import sysconfig
    import time

    state = {"order": 0, "forked": False, "cli_fork": False}
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

    def append(name, record):
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        try:
            fd = os.open(os.path.join(session, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError:
            return  # the session is over
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def process(event):
        return {
            "event": event,
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "argv": list(sys.argv),
            "executable": sys.executable,
            "t": time.time(),
        }

    def forked():
        state["forked"] = True
        # A process Dramatiq's CLI forked: said at its first import (not here, where locks
        # the parent held may still be taken), in case its worker never starts.
        state["cli_fork"] = "dramatiq.cli" in sys.modules
        append("processes.jsonl", process("forked"))

    append("processes.jsonl", process("started"))
    os.register_at_fork(after_in_child=forked)

    def cli_argv():
        """The arguments Dramatiq's CLI was given: this process's own when it was forked
        from the CLI, else those of the parent that started it (spawn)."""
        if state["forked"]:
            return list(sys.argv[1:])
        try:
            with open("/proc/%d/cmdline" % os.getppid(), "rb") as f:
                words = [w.decode("utf-8", "replace") for w in f.read().split(b"\0") if w]
        except OSError:
            return []
        for i, word in enumerate(words[:-1]):
            if word == "-m" and words[i + 1] == "dramatiq":
                return words[i + 2:]
        for i, word in enumerate(words[1:], 1):
            if not word.startswith("-"):
                return words[i + 1:]
        return []

    def parse_cli(argv):
        """Dramatiq's CLI arguments, split as its own parser splits them: the modules, and
        each flag with the words that belong to it, verbatim."""
        from dramatiq.cli import make_argument_parser

        actions = {}
        for action in make_argument_parser()._actions:
            for flag in action.option_strings:
                actions[flag] = action

        def long_name(action, fallback):
            longs = [f for f in action.option_strings if f.startswith("--")]
            return longs[0] if longs else fallback

        positionals, flags = [], []
        i = 0
        while i < len(argv):
            word = argv[i]
            i += 1
            if word == "--":
                positionals.extend(argv[i:])
                break
            if not word.startswith("-") or word == "-":
                positionals.append(word)
                continue
            name, inline = word, None
            if word.startswith("--") and "=" in word:
                name, inline = word.split("=", 1)
            action = actions.get(name)
            if action is None and not word.startswith("--") and len(word) > 2:
                first = actions.get(word[:2])
                if first is not None and first.nargs == 0:
                    # -vv: several short flags at once
                    for letter in word[1:]:
                        combined = actions.get("-" + letter)
                        flags.append([combined.dest if combined else None, long_name(combined, "-" + letter) if combined else "-" + letter, []])
                    continue
                if first is not None:
                    action, inline = first, word[2:]
            if action is None:
                flags.append([None, word, []])
                continue
            values = []
            if inline is not None:
                values = [inline]
            elif action.nargs == 0:
                pass
            elif action.nargs in (None, 1, "?"):
                if i < len(argv) and (action.nargs != "?" or not argv[i].startswith("-")):
                    values = [argv[i]]
                    i += 1
            else:
                while i < len(argv) and not argv[i].startswith("-"):
                    values.append(argv[i])
                    i += 1
            flags.append([action.dest, long_name(action, name), values])
        return {"positionals": positionals, "flags": flags}

    def on_stack(function, module):
        frame = sys._getframe()
        while frame is not None:
            if frame.f_code.co_name == function and frame.f_globals.get("__name__") == module:
                return True
            frame = frame.f_back
        return False

    def launch(kind, worker=None):
        record = process(kind)
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        record["main_module"] = getattr(spec, "name", None)
        record["main_file"] = getattr(main, "__file__", None)
        record["path0"] = sys.path[0] if sys.path else None
        record["cli"] = on_stack("worker_process", "dramatiq.cli")
        record["launch_pid"] = os.getppid() if record["cli"] else os.getpid()
        if record["cli"]:
            try:
                record["cli_args"] = parse_cli(cli_argv())
            except Exception as exc:  # an unknown Dramatiq version: say so, do not break it
                record["cli_error"] = "%s: %s" % (type(exc).__name__, exc)
        if worker is not None:
            broker = worker.broker
            whitelist = getattr(worker, "consumer_whitelist", None)
            record["worker_threads"] = getattr(worker, "worker_threads", None)
            record["queues"] = sorted(whitelist) if whitelist else sorted(broker.get_declared_queues())
            record["broker"] = type(broker).__name__
        import logging

        root = logging.getLogger()
        record["log_level"] = logging.getLevelName(root.level)
        record["log_handlers"] = len(root.handlers)
        if "django.conf" in sys.modules:
            try:
                from django.apps import apps
                from django.conf import settings

                if settings.configured and apps.ready:
                    record["django_settings"] = getattr(settings, "SETTINGS_MODULE", None)
            except Exception:
                pass
        append("candidates.jsonl", record)

    def watch_worker(module):
        """Each dramatiq.Worker started is a candidate: the process that runs it."""
        worker_class = getattr(module, "Worker", None)
        if worker_class is None:
            return
        original_start = worker_class.start

        def start(self, *args, **kwargs):
            result = original_start(self, *args, **kwargs)
            launch("worker", self)
            return result

        worker_class.start = start

    def watch_broker(module):
        """Counts the messages enqueued (by any process) and processed (by a worker)."""
        broker_class = getattr(module, "Broker", None)
        if broker_class is None:
            return
        original_before, original_after = broker_class.emit_before, broker_class.emit_after

        def queue_of(args):
            name = getattr(args[0], "queue_name", "") if args else ""
            for suffix in (".DQ", ".XQ"):
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
            return name

        def emit_before(self, signal, *args, **kwargs):
            if signal == "enqueue":
                append("enqueued.jsonl", {"pid": os.getpid(), "queue": queue_of(args), "broker": type(self).__name__})
            return original_before(self, signal, *args, **kwargs)

        def emit_after(self, signal, *args, **kwargs):
            if signal == "process_message":
                append("processed.jsonl", {"pid": os.getpid(), "queue": queue_of(args)})
            return original_after(self, signal, *args, **kwargs)

        broker_class.emit_before, broker_class.emit_after = emit_before, emit_after

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
            if state["cli_fork"]:
                state["cli_fork"] = False
                if on_stack("worker_process", "dramatiq.cli"):
                    launch("cli-fork")
            state["order"] += 1
            order, started = state["order"], time.perf_counter()
            try:
                self._real.exec_module(module)
            finally:
                file = getattr(module, "__file__", None)
                kind = origin(file)
                if kind == "application" or self._name == "dramatiq":
                    append("imports-%d.jsonl" % os.getpid(), {
                        "event": "import", "order": order, "module": self._name, "file": file,
                        "origin": kind, "duration_s": round(time.perf_counter() - started, 6)})
            if self._name == "dramatiq.worker":
                watch_worker(module)
            elif self._name == "dramatiq.broker":
                watch_broker(module)
            if match and self._name == match:
                launch("match")

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
