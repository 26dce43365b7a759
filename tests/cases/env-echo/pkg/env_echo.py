"""Writes the environment the worker process was started with, byte for byte, to the file
named by ENV_ECHO_PATH. /proc/self/environ is read rather than os.environ, which Python may
have changed itself (locale coercion) after start."""
import os

with open("/proc/self/environ", "rb") as source:
    environment = source.read()
with open(os.environ["ENV_ECHO_PATH"], "wb") as target:
    target.write(environment)
