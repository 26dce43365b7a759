#!/usr/bin/env bash
# Renders a nightly index.html in headless Chromium (Debian's chromium package, installed
# here if missing), takes a screenshot, and fails if the page logs an error.
#
#     scripts/check_report_html.sh OUT_DIR/index.html [screenshot.png]
set -euo pipefail
page=$(realpath "$1")
shot=${2:-${page%.html}.png}
if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium package…" >&2
  apt-get install -y -q chromium >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$profile" --enable-logging=stderr --v=0)
log=$(mktemp)
chromium "${flags[@]}" --window-size=1500,1100 --screenshot="$shot" "file://$page" 2> "$log" >/dev/null
dom=$(chromium "${flags[@]}" --dump-dom "file://$page" 2>> "$log")
svgs=$(grep -o '<svg' <<<"$dom" | wc -l)
rows=$(grep -o '<tr>' <<<"$dom" | wc -l)
# Page errors: console errors and uncaught exceptions (Chromium's own start-up noise, such
# as D-Bus or GPU messages, is not the page's).
errors=$(grep -E 'CONSOLE|Uncaught|Failed to load resource' "$log" || true)
echo "rendered $page: $((rows - 1)) case rows, $svgs inline SVG pictures; screenshot $shot"
if [ -n "$errors" ]; then
  echo "the page logged errors:" >&2
  echo "$errors" >&2
  exit 1
fi
echo "no page errors"
