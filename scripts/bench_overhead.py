"""How much minrepro adds to a trial, for each framework and broker: `minrepro run --empty`
on a corpus case against the same worker started and probed by scripts/plain_harness.py
(with the framework's own client), interleaved round by round so that the machine's load
hits both alike. Prints the medians and their ratio, one line per case.

    python3 scripts/bench_overhead.py [--rounds N] [--case corpus/stub-broker-leak ...]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER = os.environ.get("MINREPRO_BROKER", "amqp://guest:guest@127.0.0.1:5672/%2f")
# One case per framework and broker.
CASES = [
    "corpus/stub-broker-leak",
    "corpus/dramatiq-redis-namespace",
    "corpus/celery-eager-settings",
    "corpus/celery-env-broker",
    "corpus/rq-redis-url-db",
]


def timed(command, **kwargs):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--case", nargs="+", default=CASES)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    print(f"{args.rounds} rounds interleaved; medians")
    print(f"{'case':32} {'framework':9} {'broker':6} {'minrepro':>9} {'harness':>9} {'ratio':>6}")
    for case in args.case:
        measure(args, case)


def measure(args, case):
    case_dir = os.path.abspath(os.path.join(ROOT, case))

    # One kept trial gives the generated worker of the empty configuration and the
    # interpreter minrepro uses, so that both sides run exactly the same worker.
    _, result = timed([args.minrepro, "run", case_dir, "--empty", "--json", "--keep-scratch"])
    trial = json.loads(result.stdout)["trial"]
    worker_file = os.path.join(trial["scratch"], "minrepro_worker.py")
    python = trial["interpreter"]

    with open(os.path.join(case_dir, "case.toml"), "rb") as f:
        case_file = tomllib.load(f)
    framework = case_file.get("template", "dramatiq")
    broker = case_file.get("broker", BROKER)
    keep = {k.split(":", 1)[1] for k in case_file.get("reduce", {}).get("keep", []) if k.startswith("env:")}
    env = {k: str(v).replace("${CASE_DIR}", case_dir) for k, v in case_file.get("env", {}).items() if k in keep}

    tool, harness = [], []
    for _ in range(args.rounds):
        seconds, result = timed([args.minrepro, "run", case_dir, "--empty", "--json"])
        assert json.loads(result.stdout)["kind"] == "processed", result.stderr
        tool.append(seconds)
        seconds, result = timed([python, os.path.join(ROOT, "scripts/plain_harness.py"), framework, worker_file, broker, json.dumps(env)])
        assert result.returncode == 0, result.stderr
        harness.append(seconds)

    shutil.rmtree(trial["scratch"], ignore_errors=True)
    tool_median, harness_median = statistics.median(tool), statistics.median(harness)
    kind = broker.split("://")[0]
    print(f"{case:32} {framework:9} {kind:6} {tool_median * 1000:7.1f}ms {harness_median * 1000:7.1f}ms {tool_median / harness_median:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
