"""Tracing plugin: tags messages with a trace id."""
import uuid

def setup():
    return uuid.uuid4()
