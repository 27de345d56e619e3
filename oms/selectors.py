"""The OMS's reads that other code acts on: which kill switches cover what, which limits apply, what is restricted."""

from typing import Any

from django.db.models import Q

from oms.models import Instrument, KillScope, KillSwitch, Portfolio, Restriction


def instruments_covering(instrument: Instrument) -> list[int]:
    """The instrument, its underlying and its package legs (and theirs): a rule on ACME covers ACME's options too."""
    ids = {instrument.pk}
    if instrument.underlying_id is not None:
        ids.add(instrument.underlying_id)
    for leg_id, underlying_id in instrument.legs.values_list("instrument_id", "instrument__underlying_id"):
        ids.add(leg_id)
        if underlying_id is not None:
            ids.add(underlying_id)
    return sorted(ids)


def kill_switch_covering(*, portfolio: Portfolio, instrument_ids: list[int], trader: Any) -> KillSwitch | None:
    """The first engaged kill switch that blocks a new order of ``trader`` for ``portfolio`` in the instrument whose
    ``instruments_covering`` is ``instrument_ids``, or None.

    A VENUE switch blocks routing, not orders: it is not returned here (``venues_halted``).
    """
    scope = (
        Q(scope=KillScope.FIRM)
        | Q(scope=KillScope.PORTFOLIO, portfolio=portfolio)
        | Q(scope=KillScope.INSTRUMENT, instrument_id__in=instrument_ids)
    )
    if trader is not None and trader.is_authenticated:
        scope |= Q(scope=KillScope.TRADER, trader=trader)
    return KillSwitch.objects.filter(scope, engaged=True).select_related("portfolio", "instrument", "trader").first()


def venues_halted() -> set[str]:
    """The codes of the venues and dealers an engaged VENUE kill switch closes to routing and RFQs."""
    return set(KillSwitch.objects.filter(engaged=True, scope=KillScope.VENUE).values_list("venue", flat=True))


def restriction_covering(*, portfolio: Portfolio, instrument_ids: list[int]) -> Restriction | None:
    """The restricted-list entry that forbids ``portfolio`` new orders in the instrument whose ``instruments_covering``
    is ``instrument_ids`` (it, its underlying, its legs)."""
    return (
        Restriction.objects.filter(instrument_id__in=instrument_ids)
        .filter(Q(portfolio__isnull=True) | Q(portfolio=portfolio))
        .select_related("instrument")
        .first()
    )
