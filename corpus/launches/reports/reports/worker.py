"""The worker as a script, for a Procfile: `python -m reports.worker`."""
from rq import Worker

from reports.connection import queue, redis

if __name__ == "__main__":
    Worker([queue], connection=redis).work(logging_level="INFO")
