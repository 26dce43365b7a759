"""The billing Celery app. Its settings are the module billing.settings.<BILLING_SETTINGS>
(production unless the environment says otherwise), as the deployment selects them."""
import os

from celery import Celery

app = Celery("billing")
app.config_from_object("billing.settings." + os.environ.get("BILLING_SETTINGS", "production"))
