"""Wall time of `minrepro bisect --jobs 1` against `--jobs 4` on hang-type corpus cases,
interleaved round by round so that the machine's load hits both alike. Every run is
--fresh: nothing recorded by an earlier run is reused. Prints each run and the ratio of
the medians.

    python3 scripts/bench_jobs.py [--rounds N] [--jobs 4] [CASE ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bisect(minrepro, case, jobs):
    started = time.perf_counter()
    result = subprocess.run(
        [minrepro, "bisect", case, "--fresh", "--json", "--jobs", str(jobs)],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    finding = json.loads(result.stdout)
    assert result.returncode == 0 and finding["one_minimal"], result.stderr
    return seconds, finding


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=["corpus/pipe-deadlock", "corpus/stub-broker-leak"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--minrepro", default=os.path.join(ROOT, "target/release/minrepro"))
    args = parser.parse_args()
    for case in args.cases:
        path = os.path.join(ROOT, case)
        serial, parallel = [], []
        for round_ in range(args.rounds):
            for jobs, times in ((1, serial), (args.jobs, parallel)):
                seconds, finding = bisect(args.minrepro, path, jobs)
                times.append(seconds)
                print(f"{case}  round {round_ + 1}  --jobs {jobs}:  {seconds:6.1f} s  "
                      f"{finding['trials']} trials  minimal {finding['minimal']}", flush=True)
        ratio = statistics.median(serial) / statistics.median(parallel)
        print(f"{case}: median --jobs 1 {statistics.median(serial):.1f} s, "
              f"--jobs {args.jobs} {statistics.median(parallel):.1f} s, {ratio:.2f}x faster\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
