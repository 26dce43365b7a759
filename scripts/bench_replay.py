"""What replaying the launch's own messages costs a trial, against minrepro's synthetic probe,
on the same case: a real launch of corpus/launches (by default `dispatch`, Celery) is
captured both ways; the working launch's configuration is run with the failing launch's
messages replayed (`[[messages]]`, 20 of them), and with as many probe messages instead
(`[oracle] messages = 20`). Both pass (processed); `minrepro run` of each, interleaved round
by round so that the machine's load hits both alike. Prints the medians and their ratio.

    python3 scripts/bench_replay.py [--project dispatch] [--rounds 10]

Needs the project's tox environment (`tox run -e py --notest` in its folder) and tox on PATH (the tests
install one: `PATH=target/test-tools/venv/bin:$PATH`).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def capture(minrepro, project, out, command, duration=None):
    args = [minrepro, "capture", "--out", out]
    if duration:
        args += ["--duration", duration]
    subprocess.run(args + ["--"] + command, cwd=project, capture_output=True, check=True)


def run(minrepro, case):
    started = time.perf_counter()
    result = subprocess.run([minrepro, "run", case, "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    outcome = json.loads(result.stdout)
    assert outcome["kind"] == "processed", result.stderr
    return seconds, outcome["trial"]["wall_s"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default="dispatch")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    project = os.path.join(ROOT, "corpus/launches", args.project)
    with open(os.path.join(project, "launch.toml"), "rb") as f:
        launch = tomllib.load(f)
    folder = tempfile.mkdtemp(prefix="bench-replay-")
    working, failing = os.path.join(folder, "working.toml"), os.path.join(folder, "failing.toml")
    capture(args.minrepro, project, failing, launch["failing"])
    capture(args.minrepro, project, working, launch["working"], duration="6s")
    failing_text = open(failing).read()
    messages_section = failing_text[failing_text.index("[[messages]]"):]
    count = sum(m["count"] for m in tomllib.loads(failing_text)["messages"])
    working_text = open(working).read()
    replay = os.path.join(folder, "replay.toml")
    with open(replay, "w") as f:
        f.write(working_text + "\n" + messages_section)
    probe = os.path.join(folder, "probe.toml")
    with open(probe, "w") as f:
        f.write(re.sub(r"\[oracle\]\n", "[oracle]\nmessages = %d\n" % count, working_text, count=1))
    times = {"replayed": [], "probe": []}
    trial = {"replayed": [], "probe": []}
    for _ in range(args.rounds):
        for name, case in (("replayed", replay), ("probe", probe)):
            seconds, wall = run(args.minrepro, case)
            times[name].append(seconds)
            trial[name].append(wall)
    for name in times:
        print(
            "%-9s %d messages: minrepro run median %.0f ms (trial %.0f ms), min %.0f, max %.0f"
            % (
                name,
                count,
                statistics.median(times[name]) * 1000,
                statistics.median(trial[name]) * 1000,
                min(times[name]) * 1000,
                max(times[name]) * 1000,
            )
        )
    print(
        "ratio replayed / probe: %.2f (trials: %.2f), %d rounds interleaved"
        % (
            statistics.median(times["replayed"]) / statistics.median(times["probe"]),
            statistics.median(trial["replayed"]) / statistics.median(trial["probe"]),
            args.rounds,
        )
    )


if __name__ == "__main__":
    main()
