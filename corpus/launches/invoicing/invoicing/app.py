"""The invoicing Celery app: invoices render on a queue of their own, everything else on
Celery's default queue. A worker started without -Q consumes both."""
from celery import Celery
from kombu import Queue

app = Celery("invoicing", broker="amqp://guest:guest@127.0.0.1:5672//", include=["invoicing.tasks"])
app.conf.task_queues = [Queue("celery"), Queue("invoices")]
app.conf.task_routes = {"invoicing.tasks.render_invoice": {"queue": "invoices"}}
