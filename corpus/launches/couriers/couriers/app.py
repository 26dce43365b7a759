from celery import Celery

app = Celery("couriers", include=["couriers.tasks"])
app.config_from_object("couriers.celeryconfig")
