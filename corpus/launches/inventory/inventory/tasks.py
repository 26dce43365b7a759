"""The inventory's actors."""
import json
import os

import dramatiq

from inventory import settings


@dramatiq.actor(queue_name="inventory-restock")
def restock(sku, count, receipt_dir):
    """Restocks an item and leaves a receipt (the test waits for it)."""
    path = os.path.join(receipt_dir, "%s.json" % sku)
    with open(path, "w") as receipt:
        json.dump({"sku": sku, "count": count, "low": count < settings.LOW_STOCK}, receipt)
