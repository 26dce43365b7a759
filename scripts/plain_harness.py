"""One trial done by hand, as a developer would write it without minrepro: the same
generated worker in a fresh folder, started with Popen in its own process group, the probe
sent with the framework's own client (templates/<framework>/client.py) once the worker can
take it, its report watched until the probe is processed, then the group killed and what the
probe left on the broker deleted.

    python plain_harness.py FRAMEWORK WORKER_FILE BROKER_URL ENV_JSON

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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
framework, worker_file, broker_url, env_json = sys.argv[1:5]
client = {}
with open(os.path.join(ROOT, "templates", framework, "client.py")) as f:
    exec(f.read(), client)

token = uuid.uuid4().hex[:12]
queue = f"harness.probe.{token}"
task = client["PROBE_TASK"](token)
folder = tempfile.mkdtemp(prefix="harness-trial-")
# The worker and the plumbing modules it imports, from the folder minrepro rendered them in.
source = os.path.dirname(os.path.abspath(worker_file))
for name in os.listdir(source):
    if name.startswith("minrepro_") and name.endswith(".py"):
        shutil.copy(os.path.join(source, name), folder)
with open(os.path.join(folder, "probe.json"), "w") as f:
    json.dump({"broker_url": broker_url, "queue": queue, "actor": task, "token": token, "messages": 1}, f)

connection = client["connect"](broker_url)
worker = subprocess.Popen(
    [sys.executable, os.path.join(folder, os.path.basename(worker_file))],
    env=json.loads(env_json), cwd=folder, start_new_session=True,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
report = os.path.join(folder, "report.jsonl")
processed = published = False
deadline = time.time() + 30
while time.time() < deadline and not processed:
    time.sleep(0.01)
    if not published and client["declared"](connection, queue):
        client["publish_probes"](connection, queue, task, token, 1)
        published = True
    if os.path.exists(report):
        with open(report) as f:
            processed = any('"probe:processed"' in line for line in f)
os.killpg(worker.pid, signal.SIGKILL)
worker.wait()
client["cleanup"](connection, queue, token, 1)
client["close"](connection)
shutil.rmtree(folder)
sys.exit(0 if processed else 1)
