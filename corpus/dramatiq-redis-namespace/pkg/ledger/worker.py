"""The broker and the ledger's actors: `dramatiq ledger.worker` starts them."""
import dramatiq
from dramatiq.brokers.redis import RedisBroker

from ledger import settings

broker = RedisBroker(url=settings.REDIS_URL, namespace=settings.REDIS_NAMESPACE)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="ledger")
def post_entry(account, amount):
    from ledger.accounts import post

    post(account, amount)


@dramatiq.actor(queue_name="ledger")
def close_day(day):
    from ledger.reports import daily_totals

    return daily_totals(day)
