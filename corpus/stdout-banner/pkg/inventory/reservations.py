"""Stock reservations: pure bookkeeping used by the order actors."""
import threading

_lock = threading.Lock()
_reserved = {}


def reserve(sku, quantity):
    with _lock:
        _reserved[sku] = _reserved.get(sku, 0) + quantity
        return _reserved[sku]


def release(sku, quantity):
    with _lock:
        _reserved[sku] = max(0, _reserved.get(sku, 0) - quantity)
        return _reserved[sku]
