"""The application's actors. They use the global broker, whatever it is."""
import dramatiq

from app import settings


@dramatiq.actor(queue_name="minrepro-demo-default")
def send_welcome_email(user_id):
    return {"user": user_id, "env": settings.APP_ENV}


@dramatiq.actor(queue_name="minrepro-demo-default")
def rebuild_search_index():
    return len(settings.FEATURE_FLAGS)
