"""Small in-process registries the modules fill at import (routes, models, services)."""
ROUTES = {}
MODELS = {}
SERVICES = {}


def route(path, methods=("GET",)):
    def register(handler):
        for method in methods:
            ROUTES[(method, path)] = handler
        return handler
    return register


def model(cls):
    MODELS[cls.__name__] = cls
    return cls


def service(name):
    def register(cls):
        SERVICES[name] = cls
        return cls
    return register
