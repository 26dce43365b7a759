import os

import dramatiq

import alerts.broker  # noqa: F401  (the broker first)


@dramatiq.actor
def page_on_call(incident, outbox):
    open(os.path.join(outbox, "paged-%s" % incident), "w").close()
