"""Every corpus case bisected with default flags and with `--jobs 1` as it was before the
defaults changed (one trial at a time, every timeout waited out: `--no-early-verdicts`),
interleaved case by case (the order alternating) so that the machine's load hits both
alike. Prints each run, the total wall time of each and their ratio, and every finding that
differs from the case's `[expected]`. With `--with-early-verdicts`, the `--jobs 1` side
keeps the stall rules: what parallelism alone buys.

    cargo build --release && python3 scripts/bench_default.py [--with-early-verdicts]
"""
import sys

from corpus_runs import bisect, bisections


def main():
    serial_flags = ["--jobs", "1"]
    if "--with-early-verdicts" not in sys.argv[1:]:
        serial_flags.append("--no-early-verdicts")
    SETTINGS = {"default flags": [], "--jobs 1": serial_flags}
    print(f"default flags against {' '.join(serial_flags)}", flush=True)
    totals = {name: 0.0 for name in SETTINGS}
    wrong = []
    for index, (label, folder, extra, expected) in enumerate(bisections()):
        order = list(SETTINGS.items())
        if index % 2:
            order.reverse()
        for name, flags in order:
            seconds, trials, found = bisect(folder, extra, flags)
            totals[name] += seconds
            verdict = "as expected" if found == expected else f"DIFFERS from {expected}"
            if found != expected:
                wrong.append(f"{label} with {name}: {found}")
            print(f"{label:38} {name:14} {seconds:6.1f} s {trials:4} trials  {found} {verdict}", flush=True)
    default, serial = totals["default flags"], totals["--jobs 1"]
    print(f"\ntotal wall time: default flags {default:.1f} s, --jobs 1 {serial:.1f} s, "
          f"ratio {default / serial:.2f} (default / --jobs 1)")
    print(f"findings that differ from [expected]: {len(wrong)}")
    for line in wrong:
        print(f"  {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
