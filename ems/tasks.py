"""Celery tasks: each takes ids or wire values, calls one service, and is safe to redeliver."""

from typing import Any

from celery import shared_task

from ems import services
from trading.messages import ExecutionReport


@shared_task(name="ems.execution_start")
def execution_start(parent_id: int) -> None:
    services.execution_start(parent_id=parent_id)


@shared_task(name="ems.reports_apply", bind=True, max_retries=600)
def reports_apply(self: Any, reports: list[dict[str, str]]) -> None:
    try:
        services.reports_apply(reports=[ExecutionReport.from_wire(report) for report in reports])
    except services.ReportOutOfOrder as exc:
        raise self.retry(exc=exc, countdown=0.1) from exc


@shared_task(name="ems.execution_sweep")
def execution_sweep() -> dict[str, int]:
    return services.execution_sweep()
