"""The reports' jobs."""
import json
import os


def render(report_id, outbox):
    """Renders a report into the outbox folder (the test waits for it)."""
    with open(os.path.join(outbox, "%s.json" % report_id), "w") as report:
        json.dump({"report": report_id, "pages": 3}, report)
