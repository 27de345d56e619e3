"""The Celery app: workers run execution ticks, fill application and sweeps."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    # A run still queued 30 s on is dropped (expires): behind a backlog they piled up, and the first to run does the
    # work of all. Not sooner: a backlog longer than that would then drop every one, and nothing would be repaired.
    "ems-sweep": {"task": "ems.execution_sweep", "schedule": 5.0, "options": {"expires": 30.0}},
    "ems-markouts": {"task": "ems.markouts_due", "schedule": 1.0, "options": {"expires": 30.0}},
    # Instruments without market analytics (a fresh demo, one just added in admin) get them from a
    # simulated day within a minute; a no-op query otherwise. Not queued by the seed: the broker may not run yet.
    "venues-analytics-missing": {
        "task": "venues.analytics_refresh",
        "schedule": 60.0,
        "kwargs": {"days": 1, "missing_only": True},
    },
}


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(**_: object) -> None:
    """Drop a connection past CONN_MAX_AGE or broken, as Django does around a request (workers reuse theirs)."""
    from django.db import close_old_connections

    close_old_connections()
