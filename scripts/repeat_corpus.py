"""The whole corpus bisected again and again with default flags: how many findings differ
from the cases' `[expected]` (a false early verdict, a starved start-up taken for a hang,
would show as one). Prints every run and the count.

    cargo build --release && python3 scripts/repeat_corpus.py [--times 20]
"""
import argparse
import sys
import time

from corpus_runs import bisect, bisections


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    runs = bisections()
    wrong, done = [], 0
    started = time.perf_counter()
    for repetition in range(1, args.times + 1):
        for label, folder, extra, expected in runs:
            seconds, trials, found = bisect(folder, extra, [])
            done += 1
            if found != expected:
                wrong.append(f"repetition {repetition}, {label}: {found} (expected {expected})")
                print(f"  DIFFERS {wrong[-1]}", flush=True)
        print(f"repetition {repetition}: {done} bisections so far, {len(wrong)} findings differ "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{args.times} repetitions, {done} bisections: {len(wrong)} findings differ from [expected]")
    for line in wrong:
        print(f"  {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
