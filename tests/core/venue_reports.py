"""Expected execution reports for the simulated venues' tests: one row per report, compared exactly."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from trading.enums import ExecType, Liquidity
from trading.messages import CancelReject, ExecutionReport
from trading.states import OrdStatus
from venues.sim.clients import Message

FIXED_DATETIME = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


class Row(NamedTuple):
    cl_ord_id: str
    seq: int
    exec_type: ExecType
    ord_status: OrdStatus
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    fee: Decimal
    liquidity: Liquidity | None
    reason: str


def er(
    cl_ord_id: str,
    seq: int,
    exec_type: ExecType,
    ord_status: OrdStatus,
    *,
    last_qty: str = "0",
    last_px: str = "0",
    cum: str = "0",
    leaves: str = "0",
    avg: str = "0",
    fee: str = "0",
    liquidity: Liquidity | None = None,
    reason: str = "",
) -> Row:
    """Return an expected report row; numbers are given as decimal strings."""
    return Row(
        cl_ord_id,
        seq,
        exec_type,
        ord_status,
        Decimal(last_qty),
        Decimal(last_px),
        Decimal(cum),
        Decimal(leaves),
        Decimal(avg),
        Decimal(fee),
        liquidity,
        reason,
    )


def row(report: Message) -> Row:
    assert isinstance(report, ExecutionReport), report
    return Row(
        report.cl_ord_id,
        report.seq,
        report.exec_type,
        report.ord_status,
        report.last_qty,
        report.last_px,
        report.cum_qty,
        report.leaves_qty,
        report.avg_px,
        report.fee,
        report.liquidity,
        report.reason,
    )


def assert_reports(
    reports: list[Message],
    expected: list[Row],
    *,
    venue: str,
    qty: dict[str, str] | dict[tuple[str, int], str],
    per_order: bool = False,
) -> None:
    """Assert the exact report rows, and that each working report's cum + leaves is its order's ``qty``.

    ``qty`` is keyed by cl_ord_id, or by (cl_ord_id, seq) where a restatement changes it.
    ``per_order`` compares each order's reports in seq order but not how different
    orders' reports interleave, which one book operation does not define.
    """
    actual = [row(report) for report in reports]
    if per_order:
        assert sorted(actual) == sorted(expected)
    else:
        assert actual == expected
    lookup: dict[object, str] = dict(qty)
    for report in reports:
        assert isinstance(report, ExecutionReport)
        assert report.venue == venue
        assert report.transact_time == FIXED_DATETIME.isoformat()
        if report.ord_status.is_terminal:
            assert report.leaves_qty == 0
        else:
            order_qty = lookup.get((report.cl_ord_id, report.seq), lookup.get(report.cl_ord_id))
            assert order_qty is not None, report
            assert report.cum_qty + report.leaves_qty == Decimal(order_qty), report


def cancel_reject(message: Message) -> tuple[str, str, str]:
    assert isinstance(message, CancelReject), message
    return message.cl_ord_id, message.orig_cl_ord_id, message.reason
