"""One trial done by hand, as a developer would write it without minrepro: the same
generated worker in a fresh folder, the probe queue declared as Dramatiq declares it, the
probe published, the worker started with Popen in its own process group, its report
watched until the probe is processed, then the group killed and the queues deleted.

    python plain_harness.py WORKER_FILE BROKER_URL ENV_JSON

Used by bench_overhead.py to measure what minrepro itself adds to a trial."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pika

worker_file, broker_url, env_json = sys.argv[1:4]
token = uuid.uuid4().hex[:12]
queue = f"harness.probe.{token}"
actor = f"harness_probe_{token}"

folder = tempfile.mkdtemp(prefix="harness-trial-")
# The worker and the plumbing module it imports, from the folder minrepro rendered them in.
source = os.path.dirname(os.path.abspath(worker_file))
for name in os.listdir(source):
    if name.startswith("minrepro_") and name.endswith(".py"):
        shutil.copy(os.path.join(source, name), folder)
with open(os.path.join(folder, "probe.json"), "w") as f:
    json.dump({"broker_url": broker_url, "queue": queue, "actor": actor, "token": token}, f)

connection = pika.BlockingConnection(pika.URLParameters(broker_url))
channel = connection.channel()
dead_letter = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{queue}.XQ"}
channel.queue_declare(queue, durable=True, arguments=dead_letter)
channel.queue_declare(f"{queue}.DQ", durable=True, arguments=dead_letter)
channel.queue_declare(f"{queue}.XQ", durable=True, arguments={"x-message-ttl": 604800000})
message = {
    "queue_name": queue, "actor_name": actor, "args": [token], "kwargs": {}, "options": {},
    "message_id": str(uuid.uuid4()), "message_timestamp": int(time.time() * 1000),
}
channel.basic_publish("", queue, json.dumps(message, separators=(",", ":")),
                      pika.BasicProperties(delivery_mode=2))

worker = subprocess.Popen(
    [sys.executable, os.path.join(folder, "minrepro_worker.py")],
    env=json.loads(env_json), cwd=folder, start_new_session=True,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
report = os.path.join(folder, "report.jsonl")
processed = False
deadline = time.time() + 30
while time.time() < deadline and not processed:
    time.sleep(0.01)
    if os.path.exists(report):
        with open(report) as f:
            processed = any('"probe:processed"' in line for line in f)
os.killpg(worker.pid, signal.SIGKILL)
worker.wait()
for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
    channel.queue_delete(name)
connection.close()
shutil.rmtree(folder)
sys.exit(0 if processed else 1)
