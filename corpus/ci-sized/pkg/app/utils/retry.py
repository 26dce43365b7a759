"""A small retry decorator with exponential back-off."""
import functools
import time


def retry(times=3, base_delay=0.1):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for attempt in range(times):
                try:
                    return fn(*args, **kwargs)
                except Exception:
                    if attempt == times - 1:
                        raise
                    time.sleep(base_delay * 2 ** attempt)
        return inner
    return wrap
