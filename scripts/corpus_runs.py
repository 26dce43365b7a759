"""What the corpus benchmarks share: every corpus case's bisections (minimize, and isolate
against good.toml where the case expects an isolated set), run with `minrepro bisect
--fresh --json` plus the given flags, and the finding checked against the case's
`[expected]`. Nothing recorded by an earlier run is reused (--fresh)."""
import json
import os
import subprocess
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINREPRO = os.path.join(ROOT, "target/release/minrepro")


def bisections(corpus=os.path.join(ROOT, "corpus")):
    """[(label, case folder, extra args, expected minimal)] for every case of the corpus."""
    runs = []
    for name in sorted(os.listdir(corpus)):
        folder = os.path.join(corpus, name)
        case_file = os.path.join(folder, "case.toml")
        if not os.path.isfile(case_file):
            continue
        with open(case_file, "rb") as f:
            expected = tomllib.load(f).get("expected", {})
        runs.append((f"{name} (minimize)", folder, [], sorted(expected.get("minimal", []))))
        if "isolated" in expected:
            good = os.path.join(folder, "good.toml")
            runs.append((f"{name} (isolate)", folder, ["--good", good], sorted(expected["isolated"])))
    return runs


def bisect(folder, extra, flags, minrepro=MINREPRO):
    """(seconds, trials, minimal found or an error text) of one bisection."""
    started = time.perf_counter()
    result = subprocess.run(
        [minrepro, "bisect", folder, "--fresh", "--json", *extra, *flags],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    try:
        finding = json.loads(result.stdout)
    except json.JSONDecodeError:
        return seconds, 0, f"no finding (exit {result.returncode}): {result.stderr.strip()[-300:]}"
    if result.returncode != 0 or not finding.get("reproduces"):
        return seconds, finding.get("trials", 0), f"exit {result.returncode}: {finding.get('reason')}"
    return seconds, finding["trials"], sorted(finding["minimal"])
