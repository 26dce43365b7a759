import os

from celery import shared_task


@shared_task
def confirm_booking(reference, outbox):
    with open(os.path.join(outbox, "%s.confirmed" % reference), "w") as note:
        note.write(reference)
