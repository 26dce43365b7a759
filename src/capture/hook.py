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
#   candidates.jsonl  each process that starts a worker of a framework minrepro knows (a
#                     dramatiq.Worker; a Celery WorkController, the main process of `celery
#                     worker`, whatever its pool; an RQ worker's work loop, `rq worker`), or
#                     that Dramatiq's CLI forked to run one (said before its first import: its
#                     worker may never start), or that imports the --match module: its
#                     framework, how it was launched, the CLI's arguments split by the CLI's
#                     own parser, the worker's threads, queues, broker and logging, Django
# and, from hook_messages.py (appended to this file), the messages every process published,
# where, and what became of them.
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

    # worker_pid: the process that started a worker (inherited by the pool processes and
    # work horses it forks, which run the tasks).
    state = {"order": 0, "forked": False, "cli_fork": False, "worker_pid": None, "parser": None}
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
        state["cli_fork"] = dramatiq_cli_loaded()
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

    def split_argv(argv, spec):
        """A CLI's arguments, split as its own parser splits them: the positionals, and each
        flag with the words that belong to it, verbatim. `spec` maps each option string to
        (its parser's name for it, its long form, how many words it takes: 0, 1, "?" or "*")."""
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
            option = spec.get(name)
            if option is None and not word.startswith("--") and len(word) > 2:
                first = spec.get(word[:2])
                if first is not None and first[2] == 0:
                    # -vv: several short flags at once
                    for letter in word[1:]:
                        combined = spec.get("-" + letter)
                        flags.append([combined[0], combined[1], []] if combined else [None, "-" + letter, []])
                    continue
                if first is not None:
                    option, inline = first, word[2:]
            if option is None:
                flags.append([None, word, []])
                continue
            dest, long, arity = option
            values = []
            if inline is not None:
                values = [inline]
            elif arity == 0:
                pass
            elif arity in (1, "?"):
                if i < len(argv) and (arity != "?" or not argv[i].startswith("-")):
                    values = [argv[i]]
                    i += 1
            elif isinstance(arity, int):
                values = argv[i:i + arity]
                i += len(values)
            else:
                while i < len(argv) and not argv[i].startswith("-"):
                    values.append(argv[i])
                    i += 1
            # Named by its long form, as the parser knows it (-P is --pool).
            flags.append([dest, long, values])
        return {"positionals": positionals, "flags": flags}

    def argparse_spec(parser):
        spec = {}
        for action in parser._actions:
            longs = [f for f in action.option_strings if f.startswith("--")]
            nargs = action.nargs
            arity = 0 if nargs == 0 else (1 if nargs in (None, 1) else nargs)
            for flag in action.option_strings:
                spec[flag] = (action.dest, longs[0] if longs else flag, arity)
        return spec

    def click_spec(*commands):
        """The options of click commands (a group's, then its subcommand's)."""
        spec = {}
        for command in commands:
            for param in getattr(command, "params", []):
                opts = list(getattr(param, "opts", [])) + list(getattr(param, "secondary_opts", []))
                if not opts or not all(o.startswith("-") for o in opts):
                    continue
                if getattr(param, "is_flag", False) or getattr(param, "count", False):
                    arity = 0
                else:
                    nargs = getattr(param, "nargs", 1)
                    arity = "*" if nargs == -1 else nargs
                longs = [o for o in opts if o.startswith("--")]
                for opt in opts:
                    spec[opt] = (param.name, longs[0] if longs else opt, arity)
        return spec

    def dramatiq_cli_loaded():
        """Dramatiq's CLI is loaded: `dramatiq.cli` (1.4 on), `dramatiq.__main__` before."""
        return "dramatiq.cli" in sys.modules or "dramatiq.__main__" in sys.modules

    def dramatiq_worker_process():
        """The frame of Dramatiq's CLI running a worker process (`worker_process`, in
        whichever module of dramatiq's the CLI lives), or None."""
        frame = sys._getframe()
        while frame is not None:
            module = frame.f_globals.get("__name__") or ""
            package = frame.f_globals.get("__package__") or ""
            if frame.f_code.co_name == "worker_process" and "dramatiq" in (module.split(".")[0], package.split(".")[0]):
                return frame
            frame = frame.f_back
        return None

    def parse_cli(argv):
        """Dramatiq's CLI arguments, split as its own parser splits them: the modules, and
        each flag with the words that belong to it, verbatim. The parser is the CLI's
        `make_argument_parser()` (1.4 on), else the last one that parsed a command line in
        this process or the one it was forked from (the CLI's own, before 1.4)."""
        frame = dramatiq_worker_process()
        make_argument_parser = frame.f_globals.get("make_argument_parser")
        parser = make_argument_parser() if make_argument_parser is not None else state["parser"]
        return split_argv(argv, argparse_spec(parser))

    def watch_argparse(module):
        """Remembers the last argparse parser that parsed a command line (what an old CLI
        builds inside the function that parses)."""
        parser_class = module.ArgumentParser
        original = parser_class.parse_known_args

        def parse_known_args(self, *args, **kwargs):
            state["parser"] = self
            return original(self, *args, **kwargs)

        parser_class.parse_known_args = parse_known_args

    def click_cli():
        """The arguments of the click CLI running now (Celery's, RQ's), from this process's
        own command line: split with the options of the running command and of the groups
        above it; the subcommand's own name (`worker`) is not among the positionals."""
        import click

        context = click.get_current_context(silent=True)
        if context is None:
            return None
        commands, current = [], context
        while current is not None:
            commands.insert(0, current.command)
            current = current.parent
        args = split_argv(list(sys.argv[1:]), click_spec(*commands))
        if context.parent is not None and context.info_name in args["positionals"]:
            args["positionals"].remove(context.info_name)
        return args

    def dramatiq_broker_url(broker):
        """The URL of a Dramatiq broker's server (credentials included), None for one in memory."""
        client = getattr(broker, "client", None)
        if client is not None:
            return minrepro_redis_url(client.connection_pool)
        parameters = getattr(broker, "parameters", None)
        if isinstance(parameters, list):
            parameters = parameters[0] if parameters else None
        return minrepro_pika_url(parameters)

    def launch(kind, framework=None, details=None):
        """A candidate: this process, its framework, how it was launched, its worker."""
        record = process(kind)
        if framework is None:  # --match: the framework the process imported, if any
            framework = next((f for f in ("dramatiq", "celery", "rq") if f in sys.modules), "dramatiq")
        record["framework"] = framework
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        record["main_module"] = getattr(spec, "name", None)
        record["main_file"] = getattr(main, "__file__", None)
        record["path0"] = sys.path[0] if sys.path else None
        record["cli"] = framework == "dramatiq" and dramatiq_worker_process() is not None
        record["launch_pid"] = os.getppid() if record["cli"] else os.getpid()
        if record["cli"]:
            try:
                record["cli_args"] = parse_cli(cli_argv())
            except Exception as exc:  # an unknown Dramatiq version: say so, do not break it
                record["cli_error"] = "%s: %s" % (type(exc).__name__, exc)
        record.update(details or {})
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
            broker = self.broker
            whitelist = getattr(self, "consumer_whitelist", None)
            declared = broker.get_declared_queues()
            details = {
                "worker_threads": getattr(self, "worker_threads", None),
                # What it consumes: its broker's queues, narrowed by --queues.
                "queues": sorted(q for q in declared if not whitelist or q in whitelist),
                "broker": type(broker).__name__,
            }
            try:
                details["broker_url"] = dramatiq_broker_url(broker)
            except Exception:
                pass
            launch("worker", "dramatiq", details)
            return result

        worker_class.start = start

    def argparse_command(framework):
        """An argparse-based command of the framework on the stack with its parser built
        (Celery 4's `celery worker`): the command's parser, or None."""
        frame = sys._getframe()
        while frame is not None:
            command = frame.f_locals.get("self")
            module = getattr(type(command), "__module__", "") or ""
            parser = getattr(command, "parser", None)
            if module.split(".")[0] == framework and ".bin." in module + "." and parser is not None:
                if hasattr(parser, "_actions"):
                    return parser
            frame = frame.f_back
        return None

    def cli_details(framework):
        """Whether the worker runs under the framework's own command line, and that command
        line's arguments split by the CLI's own parser: a click command of the framework's
        (Celery 5, RQ 1 and 2: wherever the command lives), or an argparse one (Celery 4).
        A CLI that cannot be read is said to be one, with why it could not be read."""
        try:
            import click

            context = click.get_current_context(silent=True)
        except ImportError:
            context = None
        callback = getattr(getattr(context, "command", None), "callback", None)
        if context is not None and (getattr(callback, "__module__", "") or "").split(".")[0] == framework:
            try:
                return {"cli": True, "cli_args": click_cli()}
            except Exception as exc:  # an unknown version: say so, do not break it
                return {"cli": True, "cli_error": "%s: %s" % (type(exc).__name__, exc)}
        parser = argparse_command(framework)
        if parser is None:
            return {"cli": False}
        try:
            args = split_argv(list(sys.argv[1:]), argparse_spec(parser))
            if "worker" in args["positionals"]:
                args["positionals"].remove("worker")
            return {"cli": True, "cli_args": args}
        except Exception as exc:
            return {"cli": True, "cli_error": "%s: %s" % (type(exc).__name__, exc)}

    def watch_celery_worker(module):
        """Each Celery WorkController started (what `celery worker` and app.Worker run) is a
        candidate, said before it starts: start() returns only at shutdown. Under prefork,
        the pool processes forked from it are not."""
        controller = getattr(module, "WorkController", None)
        if controller is None:
            return
        original_start = controller.start

        def start(self, *args, **kwargs):
            if state["worker_pid"] != os.getpid():
                state["worker_pid"] = os.getpid()
                import logging

                details = cli_details("celery")
                try:
                    if isinstance(self.concurrency, int):
                        details["worker_threads"] = self.concurrency
                    if isinstance(self.loglevel, int):
                        details["worker_log_level"] = logging.getLevelName(self.loglevel)
                    queues = self.app.amqp.queues
                    details["queues"] = sorted(getattr(queues, "consume_from", None) or queues)
                    connection = self.app.connection_for_read()
                    details["broker"] = str(connection.transport_cls)
                    details["broker_url"] = connection.as_uri(include_password=True)
                except Exception as exc:
                    details["worker_error"] = "%s: %s" % (type(exc).__name__, exc)
                launch("worker", "celery", details)
            return original_start(self, *args, **kwargs)

        controller.start = start

    def watch_rq_worker(module):
        """Each RQ work loop started (what `rq worker` and an application's worker script
        run) is a candidate, said before it starts: work() returns only at shutdown. The
        work horses it forks are not."""
        base = getattr(module, "BaseWorker", None) or getattr(module, "Worker", None)
        if base is None or getattr(base.work, "_minrepro", False):
            return
        original_work = base.work

        def work(self, *args, **kwargs):
            if state["worker_pid"] != os.getpid():
                state["worker_pid"] = os.getpid()
                import logging

                details = cli_details("rq")
                try:
                    details["queues"] = [queue.name for queue in self.queues]
                    details["broker"] = "Redis"
                    details["broker_url"] = minrepro_redis_url(self.connection.connection_pool)
                    level = kwargs.get("logging_level", args[1] if len(args) > 1 else None)
                    if isinstance(level, int):
                        level = logging.getLevelName(level)
                    if level:
                        details["worker_log_level"] = str(level).upper()
                except Exception as exc:
                    details["worker_error"] = "%s: %s" % (type(exc).__name__, exc)
                launch("worker", "rq", details)
            return original_work(self, *args, **kwargs)

        work._minrepro = True
        base.work = work

    # What is watched in each framework's modules, once each has been imported: the
    # workers here, the messages in hook_messages.py.
    WATCHES = {
        "argparse": watch_argparse,
        "dramatiq.worker": watch_worker,
        "celery.worker.worker": watch_celery_worker,
        "rq.worker.base": watch_rq_worker,
        "rq.worker": watch_rq_worker,
    }
    WATCHES.update(_minrepro_message_watches(append, state))

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
                if dramatiq_worker_process() is not None:
                    launch("cli-fork")
            state["order"] += 1
            order, started = state["order"], time.perf_counter()
            try:
                self._real.exec_module(module)
            finally:
                file = getattr(module, "__file__", None)
                kind = origin(file)
                if kind == "application" or self._name in ("dramatiq", "celery", "rq"):
                    append("imports-%d.jsonl" % os.getpid(), {
                        "event": "import", "order": order, "module": self._name, "file": file,
                        "origin": kind, "duration_s": round(time.perf_counter() - started, 6)})
            watch = WATCHES.get(self._name)
            if watch is not None:
                watch(module)
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
