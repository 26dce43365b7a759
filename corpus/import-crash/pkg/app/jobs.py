"""The application's actors."""
import dramatiq


@dramatiq.actor(queue_name="minrepro-demo-jobs", max_retries=3)
def resize_image(image_id, width):
    return image_id, width
