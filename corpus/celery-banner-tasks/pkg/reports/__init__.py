"""Reports: scheduled and on-demand exports, run as Celery tasks."""
