"""The probe module: minrepro's Celery launch imports it before Celery's command line runs
(in the same process). It connects minrepro's handlers to Celery's worker signals, which
register the probe task on the worker's own app and add the probe queue to what the worker
consumes, as an application's `celeryd_after_setup` handler would; the plumbing is beside it.
With no application module at all, the launch gives `-A minrepro_probe:app`: minrepro's own
app on minrepro's broker."""
import minrepro_framework

minrepro_framework.watch()


def __getattr__(name):
    if name == "app":
        return minrepro_framework.fallback_app()
    raise AttributeError(name)
