"""Celery tasks: each takes ids or wire values, calls one service, and is safe to redeliver."""

from typing import Any

from celery import shared_task
from django.db import OperationalError

from config.redis import redis_client
from ems import algos, markouts, rfqs, services
from trading.messages import ExecutionReport


@shared_task(name="ems.execution_start")
def execution_start(parent_id: int) -> None:
    algos.execution_start(parent_id=parent_id)


@shared_task(name="ems.execution_tick", bind=True, max_retries=20)
def execution_tick(self: Any, parent_id: int, tick_no: int | None, trigger: str = "schedule") -> None:
    """Run tick ``tick_no`` (None: the pending one); a duplicate (any other number) does nothing. A deadlock is retried."""
    try:
        algos.execution_tick(parent_id=parent_id, tick_no=tick_no, trigger=trigger)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=0.2) from exc


@shared_task(name="ems.execution_cancel")
def execution_cancel(parent_id: int, actor: str) -> None:
    algos.execution_cancel(parent_id=parent_id, actor=actor)


@shared_task(name="ems.execution_amend")
def execution_amend(parent_id: int, actor: str) -> None:
    algos.execution_amend(parent_id=parent_id, actor=actor)


@shared_task(name="ems.venue_halt")
def venue_halt(venue: str, actor: str) -> int:
    return algos.venue_halt(venue=venue, actor=actor)


@shared_task(name="ems.reports_apply", bind=True, max_retries=600)
def reports_apply(self: Any, reports: list[dict[str, str]]) -> None:
    """Apply a batch; retried when a report arrived early or the database broke a lock cycle (deadlock).

    A retry re-applies the batch: reports already applied are skipped by their ``seq``.
    """
    try:
        services.reports_apply(reports=[ExecutionReport.from_wire(report) for report in reports])
    except services.ReportOutOfOrder as exc:
        raise self.retry(exc=exc, countdown=0.1) from exc
    except OperationalError as exc:  # deadlock or serialization failure: nothing of the failed report was kept
        raise self.retry(exc=exc, countdown=0.2) from exc


@shared_task(name="ems.rfq_apply", bind=True, max_retries=20)
def rfq_apply(self: Any, messages: list[dict[str, str]]) -> int:
    """The dealers' quotes, declines and last looks, from the gateway's dealer desk; a deadlock is retried."""
    try:
        return rfqs.rfq_apply(messages)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=0.2) from exc


@shared_task(name="ems.rfq_tick")
def rfq_tick(rfq_id: int) -> bool:
    """Expire what is due on a request (scheduled with an eta at its next expiry; early or repeated runs are harmless)."""
    return rfqs.rfq_wake(rfq_id=rfq_id)


@shared_task(name="ems.markouts_due")
def markouts_due() -> int:
    """Record the fills' markouts now due (beat, about once a second)."""
    return markouts.markouts_due()


_SWEEP_LOCK = "ems:sweep"


@shared_task(name="ems.execution_sweep")
def execution_sweep() -> dict[str, int]:
    """One sweep at a time: beat starts one every few seconds, and behind a backlog one outlasts that."""
    redis = redis_client()
    if not redis.set(_SWEEP_LOCK, 1, nx=True, ex=60):
        return {"skipped": 1}
    try:
        return services.execution_sweep()
    finally:
        redis.delete(_SWEEP_LOCK)
