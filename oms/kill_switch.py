"""The kill switch: engage to stop everything in a scope at once; release with the risk role. Every step audited.

Engaging FIRM, PORTFOLIO, TRADER or INSTRUMENT cancels every working parent
order in scope (the EMS pulls their children and withdraws their RFQs first,
as for any cancel) and blocks new ones (``oms.selectors.kill_switch_covering``,
read by the pre-trade check). Engaging VENUE cancels the children working
there and closes the venue to the router and the RFQ panel; the parents go on
elsewhere.
"""

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oms import ports, roles
from oms.models import Instrument, KillScope, KillSwitch, KillSwitchEvent, ParentOrder, Portfolio
from oms.services import OrderStateError, parent_order_cancel
from trading.states import TERMINAL, OrdStatus


class KillSwitchDenied(Exception):
    """The user may not do this to a kill switch (403)."""


class KillSwitchInvalid(Exception):
    """The scope and its target do not fit (400)."""


@transaction.atomic
def kill_switch_engage(
    *,
    user: Any,
    scope: KillScope,
    reason: str,
    portfolio: Portfolio | None = None,
    trader: Any = None,
    instrument: Instrument | None = None,
    venue: str = "",
) -> KillSwitch:
    """Engage a switch on one scope and cancel what works in it; risk and admins may engage any, a trader too.

    Raise ``KillSwitchDenied`` for a PM, ``KillSwitchInvalid`` when the target does not fit the scope.
    """
    if not (roles.has_role(user, roles.RISK) or roles.has_role(user, roles.TRADER)):
        raise KillSwitchDenied("only the risk role, a trader or an admin may engage a kill switch")
    if not reason.strip():
        raise KillSwitchInvalid("invalid `reason`, was blank: say why the switch is engaged")
    targets = {
        KillScope.FIRM: (),
        KillScope.PORTFOLIO: ("portfolio",),
        KillScope.TRADER: ("trader",),
        KillScope.INSTRUMENT: ("instrument",),
        KillScope.VENUE: ("venue",),
    }[scope]
    given = {"portfolio": portfolio, "trader": trader, "instrument": instrument, "venue": venue}
    for name, value in given.items():
        if (name in targets) != bool(value):
            needs = f"needs `{targets[0]}`" if targets else "takes no target"
            raise KillSwitchInvalid(f"invalid `{name}` for a {scope.value} kill switch: it {needs}")
    switch = KillSwitch.objects.create(
        scope=scope,
        reason=reason.strip(),
        engaged_by=user,
        portfolio=portfolio,
        trader=trader,
        instrument=instrument,
        venue=venue,
    )
    actor = user.get_username()
    cancelled: list[int] = []
    if scope is KillScope.VENUE:
        transaction.on_commit(lambda: ports.execution.venue_halt(venue, actor))
    else:
        cancelled = _orders_cancel(switch, actor=actor)
    KillSwitchEvent.objects.create(
        switch=switch,
        action="ENGAGED",
        actor=actor,
        reason=switch.reason,
        data={"scope": switch.target_label, "orders_cancelled": cancelled},
    )
    return switch


@transaction.atomic
def kill_switch_release(*, user: Any, switch_id: int, reason: str) -> KillSwitch:
    """Release an engaged switch: the risk role or an admin only. Idempotent for one already released."""
    if not roles.has_role(user, roles.RISK):
        raise KillSwitchDenied("only the risk role or an admin may release a kill switch")
    switch = KillSwitch.objects.select_for_update().get(pk=switch_id)
    if not switch.engaged:
        return switch
    switch.engaged = False
    switch.released_by = user
    switch.released_at = timezone.now()
    switch.save(update_fields=["engaged", "released_by", "released_at"])
    KillSwitchEvent.objects.create(switch=switch, action="RELEASED", actor=user.get_username(), reason=reason.strip())
    return switch


def _in_scope(switch: KillSwitch) -> Q:
    match KillScope(switch.scope):
        case KillScope.FIRM:
            return Q()
        case KillScope.PORTFOLIO:
            return Q(portfolio=switch.portfolio)
        case KillScope.TRADER:
            return Q(created_by=switch.trader)
        case KillScope.INSTRUMENT:
            covered = Instrument.objects.filter(
                Q(pk=switch.instrument_id)
                | Q(underlying=switch.instrument_id)
                | Q(legs__instrument=switch.instrument_id)
                | Q(legs__instrument__underlying=switch.instrument_id)
            )
            return Q(instrument__in=covered)
        case KillScope.VENUE:
            raise ValueError("a venue switch cancels children, not orders")


def _orders_cancel(switch: KillSwitch, *, actor: str) -> list[int]:
    """Cancel every working order in the switch's scope; return their ids. One amended meanwhile is cancelled by the OMS
    when its amend would apply (``parent_order_amend_finish``)."""
    reason = f"kill switch {switch.target_label}: {switch.reason}"
    cancelled = []
    working = ParentOrder.objects.filter(_in_scope(switch)).exclude(status__in=TERMINAL).exclude(status=OrdStatus.PENDING_CANCEL)
    for order_id in working.order_by("id").values_list("pk", flat=True).distinct():
        try:
            parent_order_cancel(parent_id=order_id, actor=actor, reason=reason)
        except OrderStateError:  # an amend in progress: cancelled when it would apply
            continue
        cancelled.append(order_id)
    return cancelled
