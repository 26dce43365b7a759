# minrepro capture's hook, its second half: the launch's own messages. Appended to hook.py
# and run with it; `_minrepro_capture` calls `_minrepro_message_watches` for the modules to
# watch. In every process of the command it records, without changing anything:
#   published.jsonl each message a client published: on RabbitMQ at the wire (pika's and
#                   py-amqp's channels: exchange, routing key, properties, body), on kombu's
#                   virtual transports (Redis) the envelope, RQ's job as enqueued, Dramatiq's
#                   message as its RedisBroker enqueued it; with the broker's URL and the time
#   declared.jsonl  each queue, exchange and binding a process declared on RabbitMQ
#   waited.jsonl    each result a process read or waited on (Celery's AsyncResult, Dramatiq's
#                   result backends, RQ's job status), with the backend it read from
#   fates.jsonl     what a worker did with each message (executed, with where it stored the
#                   result; discarded, how), by message id
#   ready.jsonl     when a worker was ready to consume (Celery's worker_ready)
#   failures.jsonl  each failed test of a pytest run: its id and the assertion's words


def _minrepro_message_watches(append, state):
    import base64
    import functools
    import inspect
    import os
    import time

    def now():
        return {"pid": os.getpid(), "t": time.time()}

    def text_or_base64(body):
        """A body as the case file keeps it: text when it is UTF-8, else base64."""
        if isinstance(body, str):
            return {"body": body}
        body = bytes(body or b"")
        try:
            return {"body": body.decode("utf-8")}
        except UnicodeDecodeError:
            return {"body_base64": base64.b64encode(body).decode("ascii")}

    def plain(value):
        """A value as JSON holds it (AMQP tables hold bytes, datetimes, decimals)."""
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return str(value)

    def wrap(cls, method, before=None, after=None):
        """Calls `before(self, arguments)` (the call's arguments bound by name, defaults
        included) and `after(self, arguments, result)` around `cls.method`; what they raise
        is swallowed: the hook only watches."""
        original = cls.__dict__.get(method)
        if original is None or getattr(original, "_minrepro_watch", False):
            return original
        try:
            signature = inspect.signature(original)
        except (TypeError, ValueError):
            return original

        @functools.wraps(original)
        def watched(self, *args, **kwargs):
            arguments = None
            try:
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                arguments = bound.arguments
                if before is not None:
                    before(self, arguments)
            except Exception:
                pass
            result = original(self, *args, **kwargs)
            if after is not None and arguments is not None:
                try:
                    after(self, arguments, result)
                except Exception:
                    pass
            return result

        watched._minrepro_watch = True
        setattr(cls, method, watched)
        return watched

    # ---- RabbitMQ at the wire -------------------------------------------------------------

    def published(broker, exchange, routing_key, properties, body, kind="amqp"):
        if broker is None:  # a channel without its connection: nowhere to name
            return
        record = now()
        record.update(kind=kind, broker=broker, exchange=exchange or "", routing_key=routing_key or "")
        record["properties"] = plain({k: v for k, v in properties.items() if v is not None})
        record.update(text_or_base64(body))
        append("published.jsonl", record)

    def declared(broker, declaration):
        if broker is None:
            return
        record = now()
        record.update(broker=broker, declaration=plain(declaration))
        append("declared.jsonl", record)

    def declarations(url_of):
        def queue(self, a):
            if a.get("queue") and not a.get("passive"):
                declared(url_of(self), {"declare": "queue", "name": a["queue"], "durable": bool(a.get("durable")),
                                        "exclusive": bool(a.get("exclusive")), "auto_delete": bool(a.get("auto_delete")),
                                        "arguments": a.get("arguments") or {}})

        def exchange(self, a):
            if a.get("exchange") and not a.get("passive"):
                declared(url_of(self), {"declare": "exchange", "name": a["exchange"],
                                        "type": a.get("type") or a.get("exchange_type") or "direct",
                                        "durable": bool(a.get("durable")), "auto_delete": bool(a.get("auto_delete")),
                                        "arguments": a.get("arguments") or {}})

        def binding(self, a):
            declared(url_of(self), {"declare": "binding", "queue": a.get("queue"), "exchange": a.get("exchange") or "",
                                    "routing_key": a.get("routing_key") or "", "arguments": a.get("arguments") or {}})

        return {"queue_declare": queue, "exchange_declare": exchange, "queue_bind": binding}

    def watch_py_amqp(module):
        cls = module.Channel
        for method, before in declarations(minrepro_py_amqp_channel_url).items():
            wrap(cls, method, before)

        def publish(self, a):
            msg = a["msg"]
            properties = dict(getattr(msg, "properties", {}) or {})
            headers = properties.pop("application_headers", None)
            if headers:
                properties["headers"] = headers
            published(minrepro_py_amqp_channel_url(self), a.get("exchange"), a.get("routing_key"), properties, msg.body)

        original = cls.__dict__.get("_basic_publish")
        watched = wrap(cls, "_basic_publish", publish)
        if cls.__dict__.get("basic_publish") is original:
            cls.basic_publish = watched

    def watch_pika(module):
        cls = module.Channel
        for method, before in declarations(minrepro_pika_channel_url).items():
            wrap(cls, method, before)

        def publish(self, a):
            props = a.get("properties")
            names = ("content_type", "content_encoding", "headers", "delivery_mode", "priority", "correlation_id",
                     "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id")
            properties = {name: getattr(props, name, None) for name in names} if props is not None else {}
            published(minrepro_pika_channel_url(self), a.get("exchange"), a.get("routing_key"), properties, a.get("body"))

        wrap(cls, "basic_publish", publish)

    # ---- kombu's virtual transports (Redis) ----------------------------------------------

    def watch_kombu_virtual(module):
        base = getattr(module, "Channel", None)
        if base is None:
            return

        def publish(self, a):
            message = dict(a.get("message") or {})
            body = message.get("body")
            if isinstance(body, bytes):  # a binary serializer: base64, marked as kombu marks it
                try:
                    message["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    message["body"] = base64.b64encode(body).decode("ascii")
                    message["properties"] = dict(message.get("properties") or {}, body_encoding="base64")
            exchange, routing_key = a.get("exchange") or "", a.get("routing_key") or ""
            queues = [routing_key] if not exchange else list(self._lookup(exchange, routing_key))
            record = now()
            record.update(kind="kombu", broker=self.connection.client.as_uri(include_password=True),
                          exchange=exchange, routing_key=routing_key, queues=queues,
                          envelope=plain(message))
            append("published.jsonl", record)

        wrap(base, "basic_publish", publish)

    # ---- RQ and Dramatiq on Redis ---------------------------------------------------------

    def watch_rq_queue(module):
        queue_class = getattr(module, "Queue", None)
        if queue_class is None:
            return

        def enqueued(self, a, result):
            job = a["job"]
            if not getattr(self, "_is_async", True):
                return
            fields = {}
            for name, value in job.to_dict().items():
                if name == "data":
                    continue
                fields[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            record = now()
            record.update(kind="rq", broker=minrepro_redis_url(self.connection.connection_pool), queue=self.name, id=job.id,
                          task=job.func_name, properties=plain(fields), at_front=bool(a.get("at_front")))
            record.update(text_or_base64(job.to_dict().get("data", b"")))
            append("published.jsonl", record)

        wrap(queue_class, "enqueue_job", after=enqueued)

    def watch_dramatiq_redis(module):
        broker_class = getattr(module, "RedisBroker", None)
        if broker_class is None:
            return

        def enqueue(self, a):
            message = a["message"]
            queue = message.queue_name
            if a.get("delay"):
                queue = queue + ".DQ"
            record = now()
            record.update(kind="dramatiq-redis", broker=minrepro_redis_url(self.client.connection_pool), queue=queue,
                          namespace=getattr(self, "namespace", "dramatiq"), id=message.message_id,
                          task=message.actor_name, body=message.encode().decode("utf-8"))
            append("published.jsonl", record)

        wrap(broker_class, "enqueue", enqueue)

    # ---- results read or waited on --------------------------------------------------------

    def waited(message_id, backend, how):
        record = now()
        record.update(id=message_id, backend=backend, how=how)
        append("waited.jsonl", record)

    def celery_backend(backend):
        name = type(backend).__name__
        if name == "DisabledBackend":
            return None
        if name == "RPCBackend":
            return "rpc://"
        if hasattr(backend, "connparams") and getattr(backend, "client", None) is not None:
            return minrepro_redis_url(backend.client.connection_pool)
        try:
            return backend.as_uri(include_password=True)
        except Exception:
            return name

    def watch_celery_result(module):
        result_class = getattr(module, "AsyncResult", None)
        if result_class is None:
            return
        for method in ("get", "wait", "ready", "_get_task_meta"):
            def before(self, a, how="AsyncResult." + method.strip("_")):
                waited(self.id, celery_backend(self.backend), how)
            wrap(result_class, method, before)

    def watch_dramatiq_results(module):
        backend_class = getattr(module, "ResultBackend", None)
        if backend_class is None:
            return

        def before(self, a):
            message = a.get("message")
            client = getattr(self, "client", None)
            location = minrepro_redis_url(client.connection_pool) + "#" + getattr(self, "namespace", "") if client is not None else type(self).__name__
            waited(getattr(message, "message_id", None), location, "ResultBackend.get_result")

        wrap(backend_class, "get_result", before)

    def watch_rq_job(module):
        job_class = getattr(module, "Job", None)
        if job_class is None:
            return
        for method in ("get_status", "refresh", "latest_result"):
            def before(self, a, how="Job." + method):
                waited(self.id, minrepro_redis_url(self.connection.connection_pool), how)
            wrap(job_class, method, before)

        def performed(self, a, result=None):
            fate(self.id, "executed", outcome="finished", result=minrepro_redis_url(self.connection.connection_pool))

        def perform(self, a):
            try:
                self.func
            except Exception as exc:
                fate(self.id, "discarded", how="unknown-task", words="%s: %s" % (type(exc).__name__, exc))

        wrap(job_class, "perform", perform, performed)

    # ---- what workers did with them -------------------------------------------------------

    def fate(message_id, what, **fields):
        """What the worker (the process that started it, also for its pool processes and
        work horses) did with a message."""
        record = now()
        record.update(worker=state["worker_pid"] or os.getpid(), id=message_id, state=what, **fields)
        append("fates.jsonl", record)

    def watch_celery_signals(module):
        def postrun(sender=None, task_id=None, task=None, state=None, **kwargs):
            stored = None
            if task is not None and not getattr(task, "ignore_result", False):
                stored = celery_backend(task.backend)
            fate(task_id, "executed", outcome=state, result=stored)

        def unknown(sender=None, message=None, exc=None, name=None, id=None, **kwargs):
            fate(id, "discarded", how="unknown-task", words="Received unregistered task of type %r" % name)

        def rejected(sender=None, message=None, exc=None, **kwargs):
            headers = getattr(message, "headers", None) or {}
            refused = type(exc).__name__ == "ContentDisallowed"
            fate(headers.get("id"), "discarded", how="refused" if refused else "undecodable",
                 words=str(exc) if exc is not None else "a message of an unknown format")

        def ready(sender=None, **kwargs):
            record = now()
            append("ready.jsonl", record)

        module.task_postrun.connect(postrun, weak=False)
        module.task_unknown.connect(unknown, weak=False)
        module.task_rejected.connect(rejected, weak=False)
        module.worker_ready.connect(ready, weak=False)

    def watch_dramatiq_broker(module):
        broker_class = getattr(module, "Broker", None)
        if broker_class is None:
            return
        original = broker_class.emit_after

        def emit_after(self, signal, *args, **kwargs):
            try:
                message = args[0] if args else None
                message_id = getattr(message, "message_id", None)
                if signal == "process_message":
                    fate(message_id, "executed", outcome="FAILURE" if kwargs.get("exception") else "SUCCESS")
                elif signal == "skip_message":
                    fate(message_id, "discarded", how="skipped", words="a middleware raised SkipMessage")
                elif signal == "nack" and message.actor_name not in self.actors:
                    fate(message_id, "discarded", how="unknown-task",
                         words="Received message for undefined actor %r. Moving it to the DLQ." % message.actor_name)
            except Exception:
                pass
            return original(self, signal, *args, **kwargs)

        broker_class.emit_after = emit_after

    # ---- the sender's own words -----------------------------------------------------------

    def watch_pytest_reports(module):
        report_class = getattr(module, "TestReport", None)
        original = getattr(report_class, "from_item_and_call", None)
        if original is None:
            return

        def from_item_and_call(cls, item, call):
            report = original.__func__(cls, item, call)
            try:
                if report.failed:
                    crash = getattr(report.longrepr, "reprcrash", None)
                    words = getattr(crash, "message", None) or str(report.longrepr).strip().splitlines()[-1]
                    record = now()
                    record.update(test=report.nodeid, words=words)
                    append("failures.jsonl", record)
            except Exception:
                pass
            return report

        report_class.from_item_and_call = classmethod(from_item_and_call)

    return {
        "amqp.channel": watch_py_amqp,
        "pika.channel": watch_pika,
        "kombu.transport.virtual.base": watch_kombu_virtual,
        "rq.queue": watch_rq_queue,
        "rq.job": watch_rq_job,
        "dramatiq.brokers.redis": watch_dramatiq_redis,
        "dramatiq.broker": watch_dramatiq_broker,
        "dramatiq.results.backend": watch_dramatiq_results,
        "celery.result": watch_celery_result,
        "celery.signals": watch_celery_signals,
        "_pytest.reports": watch_pytest_reports,
    }
