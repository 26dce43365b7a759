import os

PREFIX = ""


def get(name, default=None):
    return os.environ.get(PREFIX + name, default)


def flag(name):
    return get(name, "0") == "1"
