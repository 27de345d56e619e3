"""The venues app's Celery tasks: each one service call."""

from typing import Any

from celery import shared_task

from venues.services import analytics_refresh


@shared_task(name="venues.analytics_refresh")
def analytics_refresh_task(*, days: int = 1, missing_only: bool = True, symbols: list[str] | None = None) -> dict[str, Any]:
    """Compute and store analytics (idempotent: a rerun recomputes or, with ``missing_only``, skips)."""
    results = analytics_refresh(days=days, symbols=symbols, missing_only=missing_only)
    return {symbol: "stored" if not isinstance(result, str) else result for symbol, result in results.items()}
