import os

REDIS_URL = os.environ.get("LEDGER_REDIS_URL", "redis://127.0.0.1:6379/0")
# Several test runs share one Redis on the CI runners: each run may get a namespace of its
# own, so that their queues never mix.
REDIS_NAMESPACE = os.environ.get("LEDGER_REDIS_NAMESPACE", "dramatiq")
CURRENCY = os.environ.get("LEDGER_CURRENCY", "EUR")
ROUNDING = os.environ.get("LEDGER_ROUNDING", "half-even")
