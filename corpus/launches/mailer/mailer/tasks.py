"""The mailer's actors."""
import os

import dramatiq

from mailer import settings  # noqa: F401  (the broker first)


@dramatiq.actor(queue_name="mailer-outbox")
def send_welcome(address, outbox):
    """'Sends' a welcome mail: writes it to the outbox folder (the test looks there)."""
    with open(os.path.join(outbox, address), "w") as mail:
        mail.write("Welcome, %s!\n" % address)
