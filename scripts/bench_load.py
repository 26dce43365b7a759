"""What load costs a trial: `minrepro run` of one passing configuration with `[oracle]
messages = 500` against the same with one message, for the in-process worker and for
Dramatiq's CLI (the console script), interleaved round by round so that the machine's load
hits both alike. Prints the medians and their ratio.

    python3 scripts/bench_load.py [--rounds N] [--messages 500]
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
PACKAGE = os.path.join(ROOT, "corpus/stub-broker-leak/pkg")

CASE = """imports = ["app.settings", "app.tasks"]
[env]
PYTHONPATH = "{package}"
[options]
{options}
[oracle]
timeout = "60s"
messages = {messages}
"""

LAUNCHES = {
    "in-process worker": 'worker_threads = 8',
    "dramatiq console script": 'launcher = "console-script"\nprocesses = 1',
}


def run(minrepro, case):
    started = time.perf_counter()
    result = subprocess.run([minrepro, "run", case, "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    outcome = json.loads(result.stdout)
    assert outcome["kind"] == "processed", result.stderr
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-load-")
    cases = {}
    for launch, options in LAUNCHES.items():
        for messages in (1, args.messages):
            path = os.path.join(folder, "%s-%d.toml" % (launch.split()[-1], messages))
            with open(path, "w") as f:
                f.write(CASE.format(package=PACKAGE, options=options, messages=messages))
            cases[launch, messages] = path
    times = {key: [] for key in cases}
    for _ in range(args.rounds):
        for key, path in cases.items():
            times[key].append(run(args.minrepro, path))
    print("one trial of a passing configuration, %d rounds interleaved (median, min-max)" % args.rounds)
    for launch in LAUNCHES:
        one = statistics.median(times[launch, 1])
        many = statistics.median(times[launch, args.messages])
        print("%-24s 1 message %6.0f ms (%.0f-%.0f)   %d messages %6.0f ms (%.0f-%.0f)   ratio %.2f" % (
            launch, one * 1000, min(times[launch, 1]) * 1000, max(times[launch, 1]) * 1000,
            args.messages, many * 1000, min(times[launch, args.messages]) * 1000,
            max(times[launch, args.messages]) * 1000, many / one))


if __name__ == "__main__":
    sys.exit(main())
