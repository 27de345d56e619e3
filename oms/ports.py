"""The port through which the OMS reaches the execution system without importing it.

``oms`` imports none of ``ems``, ``router`` and ``venues``; ``ems`` registers
its implementation here when Django starts (``ems.apps``).
"""

from typing import Any, Protocol


class ExecutionPort(Protocol):
    def start(self, parent_id: int) -> None:
        """Begin working an accepted parent order (asynchronously)."""

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        """Return the parent's child orders, serialized for the API."""

    def routing_decisions(self, parent_id: int) -> list[dict[str, Any]]:
        """Return the parent's routing decisions (inputs, orders, reasons), serialized for the API."""

    def publish(self, parent_id: int) -> None:
        """Push the parent's current state to the live blotters."""


class _NoExecution:
    def start(self, parent_id: int) -> None:
        raise RuntimeError("no execution system registered: is the `ems` app installed?")

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        return []

    def routing_decisions(self, parent_id: int) -> list[dict[str, Any]]:
        return []

    def publish(self, parent_id: int) -> None:
        return None


execution: ExecutionPort = _NoExecution()


def register_execution(port: ExecutionPort) -> None:
    global execution
    execution = port
