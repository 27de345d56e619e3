"""The port through which the OMS reaches the execution system without importing it.

``oms`` imports none of ``ems``, ``router`` and ``venues``; ``ems`` registers
its implementation here when Django starts (``ems.apps``).
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from oms.models import ParentOrder


class ExecutionPort(Protocol):
    def start(self, parent_id: int) -> None:
        """Begin working an accepted parent order (asynchronously)."""

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        """Return the parent's child orders, serialized for the API."""

    def routing_decisions(self, parent_id: int) -> list[dict[str, Any]]:
        """Return the parent's routing decisions (inputs, orders, reasons), serialized for the API."""

    def publish(self, parent_id: int) -> None:
        """Push the parent's current state to the live blotters."""

    def strategy_check(self, order: "ParentOrder") -> list[tuple[str, str]]:
        """Return (field, reason) for each problem of the order's explicit strategy and parameters (unsaved order)."""

    def execution(self, parent_id: int) -> dict[str, Any] | None:
        """Return the parent's execution (strategy, parameters, rationale, schedule, switches), serialized for the API."""

    def strategies(self, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Return how each parent that has an execution is worked now, by id: ``strategy`` (now), ``base_strategy``
        (the first chosen) and ``updated_at`` (the execution's last change, ISO 8601); in one query, for a page."""

    def cancel(self, parent_id: int, actor: str) -> None:
        """Cancel the parent's working children (asynchronously); the OMS finishes the cancel when none works."""

    def amend(self, parent_id: int, actor: str) -> None:
        """Cancel the parent's working children (asynchronously); the OMS applies the amend when none works."""

    def tca(self, parent_id: int) -> dict[str, Any] | None:
        """Return the parent's transaction cost analysis so far (shortfall and its parts, participation, markouts)."""

    def marks(self, instrument_ids: list[int]) -> dict[int, Decimal]:
        """Return the live mark of each instrument that has one, by id: the NBBO mid, or an option's theoretical value."""

    def venue_halt(self, venue: str, actor: str) -> None:
        """Cancel every child order working at ``venue`` (asynchronously): a venue kill switch was engaged."""


class _NoExecution:
    def start(self, parent_id: int) -> None:
        raise RuntimeError("no execution system registered: is the `ems` app installed?")

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        return []

    def routing_decisions(self, parent_id: int) -> list[dict[str, Any]]:
        return []

    def publish(self, parent_id: int) -> None:
        return None

    def strategy_check(self, order: "ParentOrder") -> list[tuple[str, str]]:
        return []

    def execution(self, parent_id: int) -> dict[str, Any] | None:
        return None

    def strategies(self, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
        return {}

    def cancel(self, parent_id: int, actor: str) -> None:
        raise RuntimeError("no execution system registered: is the `ems` app installed?")

    def amend(self, parent_id: int, actor: str) -> None:
        raise RuntimeError("no execution system registered: is the `ems` app installed?")

    def tca(self, parent_id: int) -> dict[str, Any] | None:
        return None

    def marks(self, instrument_ids: list[int]) -> dict[int, Decimal]:
        return {}

    def venue_halt(self, venue: str, actor: str) -> None:
        raise RuntimeError("no execution system registered: is the `ems` app installed?")


execution: ExecutionPort = _NoExecution()


def register_execution(port: ExecutionPort) -> None:
    global execution
    execution = port
