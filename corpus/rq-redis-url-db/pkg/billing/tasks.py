"""The RQ jobs (enqueued by the web app as `billing.tasks.send_invoice`)."""
import logging

from billing import invoices

logger = logging.getLogger("billing.tasks")


def send_invoice(invoice_id, lines, recipient):
    text = invoices.render(invoice_id, lines)
    logger.info("invoice %s for %s: %d characters", invoice_id, recipient, len(text))
    return len(text)


def purge_drafts(older_than_days=30):
    logger.info("purging drafts older than %d days", older_than_days)
    return older_than_days
