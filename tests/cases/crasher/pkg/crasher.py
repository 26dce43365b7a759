"""Ends the worker during start-up in the way CRASH_MODE says."""
import os
import signal

mode = os.environ.get("CRASH_MODE", "")
if mode == "exception":
    raise RuntimeError(f"cannot open {os.getcwd()}/settings.ini at 0x7f00deadbeef")
if mode == "exit":
    os._exit(3)
if mode == "signal":
    os.kill(os.getpid(), signal.SIGKILL)
