"""The order actors, declared on the global broker (whichever the process has)."""
import dramatiq

from orders import pricing, settings


@dramatiq.actor(queue_name="minrepro-demo-orders", max_retries=5)
def fulfil_order(order_id, net_total, country):
    return {"order": order_id, "total": str(pricing.total_with_vat(net_total, country))}


@dramatiq.actor(queue_name="minrepro-demo-orders")
def cancel_stale_orders(older_than_hours=48):
    return {"env": settings.ENVIRONMENT, "older_than_hours": older_than_hours}
