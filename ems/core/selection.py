"""The strategy selection matrix: an order's profile in, the strategy, its parameters and why out.

Pure. Rules are data (``Rule``; the live table is ``ems.models.SelectionRule``,
edited in admin, with ``DEFAULT_RULES`` shipped as its first rows): each has
conditions (blank matches anything) and a priority; the first rule by
priority whose conditions all hold wins. A rule with a size condition never
matches an order whose ADV is unknown. The PM's explicit choice overrides the
table. A scheduled algo without a duration gets one from its size: long
enough to stay near a participation rate the urgency allows.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from ems.core.algos import Strategy
from trading.enums import AssetClass, Urgency

SESSION_MINUTES: Final = 390
# Participation a working algo aims to stay under, by urgency: its default duration follows from the size.
PARTICIPATION: Final = {Urgency.LOW: Decimal("0.08"), Urgency.MEDIUM: Decimal("0.15"), Urgency.HIGH: Decimal("0.30")}
CALM_BELOW: Final = Decimal("0.15")  # annual volatility
VOLATILE_FROM: Final = Decimal("0.40")
SPIKE_RATIO: Final = 2.0


@dataclass(frozen=True, slots=True)
class OrderProfile:
    """What the matrix looks at."""

    urgency: Urgency
    asset_class: AssetClass = AssetClass.EQUITY
    multi_leg: bool = False
    adv_share: Decimal | None = None  # order qty / ADV
    volatility_regime: str | None = None  # CALM | NORMAL | VOLATILE
    spread_bps: Decimal | None = None
    depth_multiple: Decimal | None = None  # order qty / displayed depth at the far touch
    explicit: Strategy | None = None  # the PM's choice
    explicit_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    priority: int
    strategy: Strategy
    rationale: str
    params: Mapping[str, Any] = field(default_factory=dict)
    urgency: Urgency | None = None
    asset_class: AssetClass | None = None
    multi_leg: bool | None = None
    min_adv_share: Decimal | None = None
    max_adv_share: Decimal | None = None  # exclusive
    volatility_regime: str | None = None
    min_spread_bps: Decimal | None = None
    max_spread_bps: Decimal | None = None  # exclusive
    min_depth_multiple: Decimal | None = None

    def matches(self, p: OrderProfile) -> bool:
        checks = (
            self.urgency is None or p.urgency is self.urgency,
            self.asset_class is None or p.asset_class is self.asset_class,
            self.multi_leg is None or p.multi_leg is self.multi_leg,
            self.min_adv_share is None or (p.adv_share is not None and p.adv_share >= self.min_adv_share),
            self.max_adv_share is None or (p.adv_share is not None and p.adv_share < self.max_adv_share),
            self.volatility_regime is None or p.volatility_regime == self.volatility_regime,
            self.min_spread_bps is None or (p.spread_bps is not None and p.spread_bps >= self.min_spread_bps),
            self.max_spread_bps is None or (p.spread_bps is not None and p.spread_bps < self.max_spread_bps),
            self.min_depth_multiple is None or (p.depth_multiple is not None and p.depth_multiple >= self.min_depth_multiple),
        )
        return all(checks)


@dataclass(frozen=True, slots=True)
class Selection:
    strategy: Strategy
    params: dict[str, Any]
    rationale: str
    rule: str  # the rule's name, or "explicit"


_D = Decimal
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    Rule("options", 10, Strategy.RFQ, "an option: ask dealers for a competitive price", asset_class=AssetClass.OPTION),
    Rule("multi-leg", 11, Strategy.RFQ, "a multi-leg package: dealers price it as one", multi_leg=True),
    Rule(
        "block",
        12,
        Strategy.RFQ,
        "a block of half a day's volume or more: ask dealers for a risk price rather than walk the book",
        min_adv_share=_D("0.5"),
    ),
    Rule(
        "small-urgent",
        20,
        Strategy.IMMEDIATE,
        "small and urgent: take the liquidity shown now",
        urgency=Urgency.HIGH,
        max_adv_share=_D("0.01"),
    ),
    Rule(
        "urgent",
        21,
        Strategy.IS,
        "urgent and large: front-load along the Almgren-Chriss trajectory",
        urgency=Urgency.HIGH,
        min_adv_share=_D("0.01"),
    ),
    Rule(
        "volatile",
        30,
        Strategy.IS,
        "volatile market: trade faster to cut the timing risk",
        urgency=Urgency.MEDIUM,  # a patient order follows the volume (patient-large): measured cheaper, volatile or not
        volatility_regime="VOLATILE",
        min_adv_share=_D("0.005"),
    ),
    Rule("small", 40, Strategy.IMMEDIATE, "small: the router works it now (dark first, then the touch)", max_adv_share=_D("0.005")),
    Rule(
        "wide-spread",
        50,
        Strategy.DARK,
        "wide spread and patient: seek midpoint liquidity in the dark pools",
        urgency=Urgency.LOW,
        min_adv_share=_D("0.005"),
        min_spread_bps=_D(20),
    ),
    Rule(
        "patient-large",
        60,
        Strategy.VWAP,
        "patient and large: follow the day's volume to stay inconspicuous",
        urgency=Urgency.LOW,
        min_adv_share=_D("0.005"),
    ),
    Rule(
        "large",
        70,
        Strategy.POV,
        "large: keep a steady share of the market volume",
        urgency=Urgency.MEDIUM,
        min_adv_share=_D("0.05"),
    ),
    Rule(
        "medium",
        80,
        Strategy.VWAP,
        "mid-sized: follow the volume profile",
        urgency=Urgency.MEDIUM,
        min_adv_share=_D("0.005"),
    ),
    Rule("default", 1000, Strategy.IMMEDIATE, "no liquidity profile known: the router works it now"),
)


def volatility_regime(annual: Decimal | None, *, spike_ratio: float | None = None) -> str | None:
    """CALM, NORMAL or VOLATILE from the annual volatility; a live spike (realized/expected) makes it VOLATILE."""
    if spike_ratio is not None and spike_ratio >= SPIKE_RATIO:
        return "VOLATILE"
    if annual is None:
        return None
    if annual < CALM_BELOW:
        return "CALM"
    return "VOLATILE" if annual >= VOLATILE_FROM else "NORMAL"


def duration_minutes_for(adv_share: Decimal, urgency: Urgency) -> int:
    """A duration that keeps the order near the urgency's participation rate, within 5 minutes and the session."""
    minutes = float(adv_share / PARTICIPATION[urgency]) * SESSION_MINUTES
    return max(5, min(SESSION_MINUTES, math.ceil(minutes)))


def strategy_select(profile: OrderProfile, rules: Iterable[Rule]) -> Selection:
    """Return the explicit choice, else the first matching rule by priority (then name); raise if none matches."""
    facts = _facts(profile)
    if profile.explicit is not None:
        params = dict(profile.explicit_params)
        _default_duration(profile, profile.explicit, params)
        return Selection(profile.explicit, params, f"{profile.explicit.value} chosen by the PM ({facts})", "explicit")
    for rule in sorted(rules, key=lambda r: (r.priority, r.name)):
        if rule.matches(profile):
            params = dict(rule.params)
            note = _default_duration(profile, rule.strategy, params)
            return Selection(rule.strategy, params, f"{rule.strategy.value}: {rule.rationale} ({facts}){note}", rule.name)
    raise LookupError(f"no selection rule matches ({facts}): add a catch-all rule")


def _default_duration(profile: OrderProfile, strategy: Strategy, params: dict[str, Any]) -> str:
    if "duration_minutes" in params or profile.adv_share is None:
        return ""
    if not (strategy.scheduled or strategy is Strategy.DARK):
        return ""
    minutes = duration_minutes_for(profile.adv_share, profile.urgency)
    params["duration_minutes"] = minutes
    return f"; over {minutes} min to stay near {PARTICIPATION[profile.urgency]:.0%} of the volume"


def _facts(p: OrderProfile) -> str:
    parts = [f"urgency {p.urgency.value.lower()}"]
    if p.asset_class is not AssetClass.EQUITY:
        parts.append(p.asset_class.value.lower())
    if p.multi_leg:
        parts.append("multi-leg")
    parts.append("ADV unknown" if p.adv_share is None else f"{p.adv_share:.2%} of ADV")
    if p.volatility_regime:
        parts.append(f"volatility {p.volatility_regime.lower()}")
    if p.spread_bps is not None:
        parts.append(f"spread {p.spread_bps:.1f} bps")
    if p.depth_multiple is not None:
        parts.append(f"{p.depth_multiple:.1f}x the depth at the touch")
    return ", ".join(parts)
