"""A test run in miniature, for bench_capture.py: like a pytest fixture, it starts the
dramatiq console script with Popen, enqueues MESSAGES messages and waits until the worker
has processed them all, then stops it.

    python capture_workload.py APP_DIR BROKER_URL MESSAGES
"""
import os
import subprocess
import sys
import time

app_dir, broker_url, messages = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, app_dir)
os.environ["WORKLOAD_BROKER_URL"] = broker_url
os.environ["PYTHONPATH"] = app_dir

import workload_app  # noqa: E402

done = os.path.join(app_dir, "done")
for name in os.listdir(done):
    os.remove(os.path.join(done, name))
workload_app.touch.broker.flush_all()
worker = subprocess.Popen(
    [os.path.join(os.path.dirname(sys.executable), "dramatiq"), "workload_app", "--processes", "1", "--threads", "4"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
for n in range(messages):
    workload_app.touch.send(os.path.join(done, str(n)))
deadline = time.time() + 60
while time.time() < deadline and len(os.listdir(done)) < messages:
    time.sleep(0.02)
worker.terminate()
worker.wait()
sys.exit(0 if len(os.listdir(done)) == messages else 1)
