"""The Celery app: workers run execution ticks, fill application and sweeps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "ems-sweep": {"task": "ems.execution_sweep", "schedule": 5.0},
}
