"""Actors on queues of the application's own: every trial's worker declares them, and
every trial deletes them when they are idle, many at once under --jobs."""
import dramatiq


@dramatiq.actor(queue_name="minrepro-race-emails")
def send_email(address):
    return address


@dramatiq.actor(queue_name="minrepro-race-reports")
def build_report(report_id):
    return report_id


@dramatiq.actor(queue_name="minrepro-race-exports")
def export(kind):
    return kind
