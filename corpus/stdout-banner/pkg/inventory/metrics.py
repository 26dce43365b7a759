"""Prometheus-style counters kept in process; exported by the web process, not the worker."""
import collections
import os

NAMESPACE = os.environ.get("INVENTORY_METRICS_NAMESPACE", "inventory")
counters = collections.Counter()


def inc(name, value=1):
    counters[f"{NAMESPACE}_{name}"] += value
