"""An in-process LRU cache for read-mostly lookups."""
import functools
import os

SIZE = int(os.environ.get("APP_CACHE_SIZE", "1024"))
cached = functools.lru_cache(maxsize=SIZE)
