"""Production: the shared settings, results ignored (invoices are stored by the tasks)."""
from billing.settings.base import *  # noqa: F401,F403

task_ignore_result = True
