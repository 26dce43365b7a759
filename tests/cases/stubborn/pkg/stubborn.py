"""A worker that makes stopping it hard: it ignores SIGTERM, starts a child in its process
group that ignores SIGTERM too, and a grandchild that leaves the group (a new session).
Each helper carries STUBBORN_MARKER on its command line, so a test can look for survivors."""
import os
import signal
import subprocess
import sys

HELPER = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
marker = os.environ["STUBBORN_MARKER"]

signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", HELPER, marker, "same-group"])
subprocess.Popen([sys.executable, "-c", HELPER, marker, "own-session"], start_new_session=True)

if os.environ.get("STUBBORN_HANG") == "1":
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    dramatiq.set_broker(StubBroker())
