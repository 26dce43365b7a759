"""Loads the worker's plugins: every `plugin.py` in the folders of APP_PLUGIN_PATH, in order,
each with a setup() hook, the way many apps load extensions from a search path."""
import importlib.util
import os

LOADED = []

for folder in filter(None, os.environ.get("APP_PLUGIN_PATH", "").split(os.pathsep)):
    path = os.path.join(folder, "plugin.py")
    if not os.path.isfile(path):
        continue
    name = "app_plugin_" + os.path.basename(folder).replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.setup()
    LOADED.append(name)
