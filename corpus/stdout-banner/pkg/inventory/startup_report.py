"""The start-up report: when INVENTORY_STARTUP_REPORT=full, the process prints its effective
configuration and the full stock table it loaded, so that a support engineer can see in
the process's output what it started with. The default is one summary line.

What this case models: the CI environment sets INVENTORY_STARTUP_REPORT=full (someone turned
it on to debug a deploy, and the variable stayed in the pipeline's environment). The
integration test starts the worker with Popen(stdout=PIPE) and never reads the pipe. The
report is about 200 KB; once the pipe's 64 KiB buffer is full, print() blocks in write()
during the import, and the worker never gets to consume: the task stays PENDING.
"""
import os
import sys

from inventory import catalog

MODE = os.environ.get("INVENTORY_STARTUP_REPORT", "summary")


def _report(out):
    print("=" * 78, file=out)
    print("inventory worker start-up report", file=out)
    print("=" * 78, file=out)
    for key in sorted(os.environ):
        if key.startswith(("INVENTORY_", "TOX_", "CI")):
            print(f"  {key} = {os.environ[key]}", file=out)
    print("-" * 78, file=out)
    print(f"{'sku':<12}{'category':<10}{'warehouse':<10}{'on hand':>10}{'reorder at':>12}  status", file=out)
    for item in catalog.SKUS:
        status = "REORDER" if item["on_hand"] <= item["reorder_at"] else "ok"
        print(
            f"{item['sku']:<12}{item['category']:<10}{item['warehouse']:<10}"
            f"{item['on_hand']:>10}{item['reorder_at']:>12}  {status:<8}"
            f"  last counted by cycle-count job, no discrepancy recorded",
            file=out,
        )
    print("-" * 78, file=out)


if MODE == "full":
    _report(sys.stdout)
    sys.stdout.flush()
else:
    print(f"inventory: {len(catalog.SKUS)} SKUs in {len(catalog.WAREHOUSES)} warehouses")
