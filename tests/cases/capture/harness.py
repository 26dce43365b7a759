"""A test fixture's way of starting the worker: an environment built from scratch, then
subprocess.Popen. `pipe` leaves stdout and stderr as pipes it never reads; `inherit` lets
the worker share the harness's own. `testing` adds the flag that makes the app use a
StubBroker. The worker runs for a few seconds, then the harness stops it.

    python harness.py pipe|inherit [testing] BROKER_URL
"""
import os
import subprocess
import sys
import time

mode, rest = sys.argv[1], sys.argv[2:]
testing = "testing" in rest
broker_url = rest[-1]
here = os.path.dirname(os.path.abspath(__file__))
env = {
    "PYTHONPATH": os.path.join(here, "pkg"),
    "CAPTURE_BROKER_URL": broker_url,
    "APP_ENV": "test",
    "SERVICE_API_KEY": "sk-capture-0123456789",
    "LANG": "C.UTF-8",
}
if testing:
    env["CAPTURE_TESTING"] = "1"
streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if mode == "pipe" else {}
worker = subprocess.Popen([sys.executable, "-m", "capture_app.worker"], env=env, cwd=here, **streams)
time.sleep(4)
worker.terminate()
worker.wait()
