"""The application's actors, declared on the global broker."""
import dramatiq


@dramatiq.actor(queue_name="minrepro-demo-reports")
def build_report(report_id):
    return report_id


@dramatiq.actor(queue_name="minrepro-demo-reports")
def purge_reports(older_than_days=30):
    return older_than_days
