"""Metrics plugin: counts processed messages."""
COUNTERS = {}

def setup():
    COUNTERS["processed"] = 0
