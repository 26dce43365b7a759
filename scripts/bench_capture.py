"""What `minrepro capture` costs the command it watches: scripts/capture_workload.py (a
fixture that starts the dramatiq console script and waits for 200 messages) run plainly
and under `minrepro capture`, interleaved round by round so that the machine's load hits
both alike. Prints the medians and their ratio.

    python3 scripts/bench_capture.py [--rounds N] [--messages 200]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER = os.environ.get("MINREPRO_BROKER", "amqp://guest:guest@127.0.0.1:5672/%2f")
APP = '''import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

dramatiq.set_broker(RabbitmqBroker(url=os.environ["WORKLOAD_BROKER_URL"]))


@dramatiq.actor(queue_name="minrepro-bench-capture")
def touch(path):
    open(path, "w").close()
'''


def timed(command):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    # minrepro's own interpreter has dramatiq: a run of the corpus names it.
    run = subprocess.run([args.minrepro, "run", os.path.join(ROOT, "corpus/import-crash"), "--empty", "--json"],
                         capture_output=True, text=True)
    python = json.loads(run.stdout)["trial"]["interpreter"]
    app_dir = tempfile.mkdtemp(prefix="bench-capture-")
    os.makedirs(os.path.join(app_dir, "done"))
    with open(os.path.join(app_dir, "workload_app.py"), "w") as f:
        f.write(APP)
    command = [python, os.path.join(ROOT, "scripts/capture_workload.py"), app_dir, BROKER, str(args.messages)]
    out = os.path.join(app_dir, "captured.toml")
    plain, captured = [], []
    for _ in range(args.rounds):
        plain.append(timed(command))
        captured.append(timed([args.minrepro, "capture", "--out", out, "--python-env", python, "--"] + command))
    with open(out) as f:
        assert "messages = %d" % args.messages in f.read(), "the capture counted the load"
    p, c = statistics.median(plain), statistics.median(captured)
    print("a fixture run: dramatiq console script, %d messages, %d rounds interleaved (median, min-max)" % (args.messages, args.rounds))
    print("plain               %6.0f ms (%.0f-%.0f)" % (p * 1000, min(plain) * 1000, max(plain) * 1000))
    print("under capture       %6.0f ms (%.0f-%.0f)" % (c * 1000, min(captured) * 1000, max(captured) * 1000))
    print("ratio capture/plain %.2f" % (c / p))


if __name__ == "__main__":
    sys.exit(main())
