"""The application's actors."""
import dramatiq


@dramatiq.actor(queue_name="minrepro-demo-plugins")
def index_document(document_id):
    return document_id
