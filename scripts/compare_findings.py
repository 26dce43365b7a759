"""Whether two builds of minrepro find and say the same: each bisects the same corpus cases
afresh, one trial at a time (so that the search asks the same questions in the same order),
with `--json --out`; then the JSON finding, the attachment's README and report.json, and the
terminal finding are compared with what varies from run to run masked (times, pids,
temporary folders, sizes of logs). Prints, per case and output, `same` or the difference.

    python3 scripts/compare_findings.py --old OLD_BINARY --new target/debug/minrepro \
        import-crash rq-decode-responses plugin-path

A case whose trials end by timing (a pending decided by a timeout or a stall rule) can
differ between two runs of the same build: pick cases whose failures are crashes or
deterministic hangs. Exits 1 when an output differs.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MASKS = [
    (r"\d+(\.\d+)?\s?(ms|s)\b", "T"),
    (r"\| \d+\.\d+ \|", "| T |"),
    (r'"(wall_s|latency_s|timeout_s|at_s|duration_s)": [0-9.e-]+', r'"\1": T'),
    (r'"pid": \d+', '"pid": P'),
    (r"process \d+", "process P"),
    (r"/tmp/[^/\s\"]*(repro|minrepro-trial|side)[^/\s\"]*", "/tmp/TMP"),
    (r"\(\d+ files, \d+ kB; tarball \d+ kB\)", "(SIZE)"),
    (r'"(bytes|tarball_bytes|files)": \d+', r'"\1": N'),
    (r"[0-9a-f]{8,}", "HEX"),
]


def masked(text, side):
    text = text.replace(side, "SIDE")
    for pattern, replacement in MASKS:
        text = re.sub(pattern, replacement, text)
    return text


def terminal_finding(stderr):
    """The finding minrepro prints at the end: from the first blank line on."""
    _, _, finding = stderr.partition("\n\n")
    return finding


def bisect(binary, case, side):
    out = os.path.join(side, "out")
    run = subprocess.run(
        [binary, "bisect", os.path.join(ROOT, "corpus", case), "--fresh", "--jobs", "1",
         "--json", "--out", out],
        capture_output=True, text=True,
    )
    read = lambda *path: open(os.path.join(out, case, *path)).read()  # noqa: E731
    outputs = {"exit": str(run.returncode), "json": run.stdout,
               "terminal": terminal_finding(run.stderr)}
    for name in ("README.md", "report.json"):
        try:
            outputs[name] = read(name)
        except OSError:
            outputs[name] = "(none)"
    return {name: masked(text, side) for name, text in outputs.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("cases", nargs="+")
    args = parser.parse_args()
    differ = False
    for case in args.cases:
        with tempfile.TemporaryDirectory() as old_side, tempfile.TemporaryDirectory() as new_side:
            old = bisect(args.old, case, old_side)
            new = bisect(args.new, case, new_side)
        for name in old:
            if old[name] == new[name]:
                print(f"{case}: {name}: same")
                continue
            differ = True
            print(f"{case}: {name}: DIFFERS")
            old_lines, new_lines = old[name].splitlines(), new[name].splitlines()
            for i, (a, b) in enumerate(zip(old_lines, new_lines)):
                if a != b:
                    print(f"  line {i + 1}:\n  - {a[:200]}\n  + {b[:200]}")
                    break
            else:
                print(f"  {len(old_lines)} lines against {len(new_lines)}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
