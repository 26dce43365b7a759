#!/usr/bin/env bash
# Wall time of `minrepro nightly --jobs 4` over six corpus cases, first night (nothing on
# record) and second night (everything on record but the fresh full-configuration runs).
# The cases are copied to a fresh folder so that nothing recorded earlier applies.
#
#     scripts/bench_nightly.sh [CASE ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
minrepro="$root/target/release/minrepro"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  mapfile -t cases < <(ls "$root/corpus" | head -6)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
for case in "${cases[@]}"; do cp -r "$root/corpus/$case" "$work/corpus/"; done
for night in first second; do
  start=$(date +%s.%N)
  status=0
  "$minrepro" nightly "$work/corpus" --out "$work/out" --jobs 4 --json > "$work/$night.json" 2> "$work/$night.log" || status=$?
  end=$(date +%s.%N)
  python3 - "$work/$night.json" "$night" "$start" "$end" "$status" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
night, start, end, status = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
statuses = ", ".join(f"{c['name']} {c['status']}" for c in summary["cases"])
print(f"{night} night: {len(summary['cases'])} cases, {summary['trials']} trials, "
      f"{end - start:.1f} s wall (exit {status}): {statuses}")
PY
done
