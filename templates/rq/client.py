# --- the probe's client: RQ's own (reproduce.py includes this text) ----------------------
PACKAGES = ("rq", "redis")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def PROBE_TASK(token):
    return "minrepro_framework.probe"


def connect(broker_url):
    """RQ's own Redis client (redis-py), connected (it fails here if Redis is down)."""
    from redis import Redis

    client = Redis.from_url(broker_url)
    client.ping()
    return client


def declared(client, queue):
    """RQ's queues need no declaration: a job waits in its Redis list until a worker pops
    it, so the probe can be enqueued at once."""
    return True


def job_id(token, index):
    return "minrepro-%s-%d" % (token, index)


def publish_probes(client, queue, func_name, token, count):
    """The probe jobs, enqueued as an application enqueues: RQ's own Queue.enqueue, the
    function by its dotted name (func_name: "minrepro_framework.probe"), args (token, index)."""
    from rq import Queue

    rq_queue = Queue(queue, connection=client)
    for index in range(count):
        rq_queue.enqueue(func_name, token, index, job_id=job_id(token, index))


def cleanup(client, queue, token, count, worker_keys=()):
    """Removes what the trial left on this Redis, after the worker is stopped: the worker(s)
    that listened on the probe's queue (`worker_keys`: those read from
    `rq:workers:<queue>` before the stop and the `key` of each worker:started report), the
    probe jobs and their results, executions and registries, the queue. Other workers' keys
    are left alone (only this worker's key is removed from the shared sets)."""
    workers = {w.decode() for w in client.smembers("rq:workers:" + queue)} | set(worker_keys)
    for key in workers:
        names = client.hget(key, "queues")
        pipe = client.pipeline(transaction=True)
        for name in set((names.decode().split(",") if names else []) + [queue]):
            pipe.srem("rq:workers:" + name, key)
        pipe.srem("rq:workers", key)
        pipe.delete(key)
        pipe.execute()
    keys = []
    running = [m.decode() for m in client.zrange("rq:wip:" + queue, 0, -1)]
    for index in range(count):
        jid = job_id(token, index)
        keys += ["rq:job:" + jid, "rq:results:" + jid, "rq:executions:" + jid,
                 "rq:job:%s:dependents" % jid, "rq:job::%s:dependencies" % jid]
        executions = [e.decode() for e in client.zrange("rq:executions:" + jid, 0, -1)]
        executions += [m.split(":", 1)[1] for m in running if m.startswith(jid + ":")]
        keys += ["rq:execution:%s:%s" % (jid, e) for e in executions]
    keys += ["rq:queue:" + queue, "rq:queue:%s:intermediate" % queue, "rq:workers:" + queue,
             "rq:clean_registries:" + queue]
    keys += ["rq:%s:%s" % (registry, queue) for registry in ("wip", "finished", "failed", "deferred", "scheduled", "canceled")]
    pipe = client.pipeline(transaction=True)
    pipe.delete(*keys)
    pipe.srem("rq:queues", "rq:queue:" + queue)
    pipe.execute()


def broker_version(client):
    try:
        return "Redis " + client.info("server").get("redis_version", "?")
    except Exception:
        return "?"


def close(client):
    client.close()
