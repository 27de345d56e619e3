"""A no-op Celery task for ``make bench``'s lateness section: the baseline a tick's lateness is read against.

The bench's workers import this module (``--include=ems.bench_tasks``; no
other worker does). Sent with an ETA, the task records how late it ran (now
less the instant it was due, ms) on a Redis list of its ``label``: the
worker's ETA timer and the wait for a free pool process, with no work and no
row lock of its own.
"""

import time

from celery import shared_task

from config.redis import redis_client

NOOP_KEY = "bench:noop:{label}"


@shared_task(name="bench.noop_late", ignore_result=True)
def noop_late(due_epoch_s: float, label: str) -> None:
    redis_client().rpush(NOOP_KEY.format(label=label), round((time.time() - due_epoch_s) * 1000, 1))
