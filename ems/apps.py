from decimal import Decimal
from typing import Any

from django.apps import AppConfig


class _Execution:
    """The EMS side of ``oms.ports.ExecutionPort``."""

    def start(self, parent_id: int) -> None:
        from ems.tasks import execution_start

        execution_start.delay(parent_id)

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        from ems.selectors import child_order_list

        return child_order_list(parent_id=parent_id)

    def routing_decisions(self, parent_id: int) -> list[dict[str, Any]]:
        from ems.selectors import routing_decision_list

        return routing_decision_list(parent_id=parent_id)

    def publish(self, parent_id: int) -> None:
        from ems.publish import blotter_publish_order

        blotter_publish_order(parent_id=parent_id)

    def strategy_check(self, order: Any) -> list[tuple[str, str]]:
        from ems.algos import strategy_check

        return strategy_check(order)

    def execution(self, parent_id: int) -> dict[str, Any] | None:
        from ems.selectors import execution_detail

        return execution_detail(parent_id=parent_id)

    def strategies(self, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
        from ems.selectors import execution_strategies

        return execution_strategies(parent_ids=parent_ids)

    def cancel(self, parent_id: int, actor: str) -> None:
        from ems.tasks import execution_cancel

        execution_cancel.delay(parent_id, actor)

    def amend(self, parent_id: int, actor: str) -> None:
        from ems.tasks import execution_amend

        execution_amend.delay(parent_id, actor)

    def tca(self, parent_id: int) -> dict[str, Any] | None:
        from ems.tca import order_tca

        return order_tca(parent_id=parent_id)

    def marks(self, instrument_ids: list[int]) -> dict[int, Decimal]:
        from ems.selectors import instrument_marks

        return instrument_marks(instrument_ids=instrument_ids)

    def venue_halt(self, venue: str, actor: str) -> None:
        from ems.tasks import venue_halt

        venue_halt.delay(venue, actor)


class EmsConfig(AppConfig):
    name = "ems"
    verbose_name = "EMS"

    def ready(self) -> None:
        from oms.ports import register_execution

        register_execution(_Execution())
