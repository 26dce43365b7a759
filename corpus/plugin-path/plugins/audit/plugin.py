"""Audit plugin: records who enqueued what."""
import logging

def setup():
    logging.getLogger("audit").debug("audit plugin ready")
