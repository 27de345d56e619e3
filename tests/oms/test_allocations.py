"""Block orders: one order for several accounts, each fill split among them in lots and booked to their portfolios."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oms.models import Fill, FillAllocation, ParentOrder, Portfolio, Position
from oms.services import parent_order_fill
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db
D = Decimal
BLOCK = {"portfolio": "GROWTH", "instrument": "GLOBX", "side": "BUY", "qty": "1000", "ord_type": "LIMIT", "limit_px": "44.20"}


def _fill(order_id: int, n: int, qty: str, px: str, fee: str) -> None:
    parent = ParentOrder.objects.locked().get(pk=order_id)
    parent_order_fill(
        parent=parent,
        child_cl_ord_id=f"C{n}",
        venue="XALP",
        exec_id=f"E{n}",
        qty=D(qty),
        px=D(px),
        fee=D(fee),
        liquidity="REMOVED",
        executed_at=datetime.now(UTC),
        actor="test",
    )


def _position(portfolio: str) -> Decimal:
    row = Position.objects.filter(portfolio__code=portfolio, instrument__symbol="GLOBX").first()
    return row.qty if row else D(0)


def test_a_block_by_quantity_is_split_fill_by_fill_and_each_account_ends_at_its_target(demo: None) -> None:
    # given a trader's block of 1,000 GLOBX: 600 for GROWTH-A, 400 for VALUE-A (another fund)
    body = {
        **BLOCK,
        "allocate_by": "QTY",
        "allocations": [{"account": "GROWTH-A", "weight": "600"}, {"account": "VALUE-A", "weight": "400"}],
    }
    response = api_client_for("trader1").post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    growth, value = _position("GROWTH"), _position("VALUE")
    cash = dict(Portfolio.objects.values_list("code", "cash"))

    # when it fills 333, 333 and 334 with fees
    _fill(order_id, 1, "333", "44.10", "1.00")
    _fill(order_id, 2, "333", "44.12", "1.00")
    _fill(order_id, 3, "334", "44.14", "1.01")

    # then each fill is split in whole shares, as close to 60/40 as the cumulative quantity allows, and ends at the targets
    splits = [
        dict(FillAllocation.objects.filter(fill=fill).values_list("account__code", "qty")) for fill in Fill.objects.order_by("id")
    ]
    assert splits == [
        {"GROWTH-A": D(200), "VALUE-A": D(133)},
        {"GROWTH-A": D(200), "VALUE-A": D(133)},
        {"GROWTH-A": D(200), "VALUE-A": D(134)},
    ]
    # and each share books to its account's portfolio: position, and cash with its part of the fee
    assert (_position("GROWTH") - growth, _position("VALUE") - value) == (D(600), D(400))
    fees = dict(FillAllocation.objects.filter(fill__exec_id="E1").values_list("account__code", "fee"))
    assert fees == {"GROWTH-A": D("0.6006"), "VALUE-A": D("0.3994")}
    value_spent = D(133) * D("44.10") + D(133) * D("44.12") + D(134) * D("44.14")
    value_fees = sum(FillAllocation.objects.filter(account__code="VALUE-A").values_list("fee", flat=True), D(0))
    assert Portfolio.objects.get(code="VALUE").cash == cash["VALUE"] - value_spent - value_fees

    # and the API shows the allocations and each fill's split
    detail = api_client_for("trader1").get(f"/api/orders/{order_id}/").json()
    assert [(a["account"], a["allocated_qty"]) for a in detail["allocations"]] == [
        ("GROWTH-A", "600.0000"),
        ("VALUE-A", "400.0000"),
    ]
    assert detail["fills"][0]["allocations"] == [
        {"account": "GROWTH-A", "qty": "200.0000", "fee": "0.6006"},
        {"account": "VALUE-A", "qty": "133.0000", "fee": "0.3994"},
    ]


def test_a_block_by_ratio_splits_pro_rata_with_leftover_lots_to_the_first_listed(demo: None) -> None:
    # given a block split 1:1 across pm1's two accounts
    body = {
        **BLOCK,
        "allocate_by": "RATIO",
        "allocations": [{"account": "GROWTH-A", "weight": "1"}, {"account": "GROWTH-B", "weight": "1"}],
    }
    order_id = api_client_for("pm1").post("/api/orders/", body, format="json").json()["id"]
    # when one share fills, then another
    _fill(order_id, 1, "1", "44.10", "0")
    _fill(order_id, 2, "1", "44.10", "0")
    # then the first goes to the first listed, the second to the other
    rows = list(FillAllocation.objects.order_by("fill_id").values_list("account__code", "qty"))
    assert rows == [("GROWTH-A", D(1)), ("GROWTH-B", D(1))]


@pytest.mark.parametrize(
    ("user", "change", "field", "words"),
    [
        ("pm1", {"allocations": [{"account": "VALUE-A", "weight": "1000"}]}, "allocations", "does not exist"),
        ("pm1", {"allocations": [{"account": "GROWTH-A", "weight": "1000"}]}, "allocate_by", "QTY or RATIO"),
        (
            "pm1",
            {
                "allocate_by": "QTY",
                "allocations": [{"account": "GROWTH-A", "weight": "600"}, {"account": "GROWTH-B", "weight": "300"}],
            },
            "allocations",
            "sum to the order's `qty` 1000",
        ),
        ("pm1", {"allocate_by": "RATIO", "allocations": [{"account": "GROWTH-A", "weight": "0"}]}, "allocations", "greater than 0"),
        ("pm1", {"allocate_by": "RATIO"}, "allocate_by", "needs `allocations`"),
    ],
)
def test_a_bad_allocation_is_refused_and_stores_nothing(
    demo: None, user: str, change: dict[str, Any], field: str, words: str
) -> None:
    # given / when
    response = api_client_for(user).post("/api/orders/", {**BLOCK, **change}, format="json")
    # then
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["error"]["fields"][field])
    assert not ParentOrder.objects.exists()


def test_a_block_by_quantity_cannot_change_its_qty(demo: None) -> None:
    # given a working block split by quantity
    body = {**BLOCK, "allocate_by": "QTY", "allocations": [{"account": "GROWTH-A", "weight": "1000"}]}
    order_id = api_client_for("pm1").post("/api/orders/", body, format="json").json()["id"]
    # when its qty is amended
    response = api_client_for("pm1").post(f"/api/orders/{order_id}/amend/", {"qty": "2000"}, format="json")
    # then it is refused: the split would no longer add up
    assert response.status_code == 400
    assert "keeps its qty" in response.json()["error"]["message"]
