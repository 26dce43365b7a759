"""The RQ jobs (enqueued by the web app as `shop.jobs.mail_receipt`)."""
import logging

logger = logging.getLogger("shop.jobs")


def mail_receipt(order_id, email):
    logger.info("receipt for order %s to %s", order_id, email)
    return order_id


def expire_carts():
    logger.info("expiring carts")
