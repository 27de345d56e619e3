"""``manage.py seed_demo``: demo users, instruments, venues, dealers and portfolios. Idempotent."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from oms.models import Account, Instrument, InstrumentLeg, Portfolio, Position, RiskLimit
from oms.roles import PM, RISK, ROLES, TRADER
from router.models import RouterSettings
from trading.enums import AssetClass, PutCall, Side, VenueKind
from venues.models import MarketSimulator, Venue
from venues.sim.dealers import DEMO_PROFILES

D = Decimal

# username, password, role (None: superuser), name
USERS = [
    ("admin", "admin-demo", None, "Ada Admin"),
    ("pm1", "pm1-demo", PM, "Paula Manager"),
    ("pm2", "pm2-demo", PM, "Peter Manager"),
    ("trader1", "trader1-demo", TRADER, "Tom Trader"),
    ("risk1", "risk1-demo", RISK, "Rita Risk"),
]

# symbol, name, tick, lot, reference price
EQUITIES = [
    ("ACME", "Acme Corp", D("0.01"), D("1"), D("101.50")),
    ("GLOBX", "Globex Industries", D("0.01"), D("1"), D("44.20")),
    ("INITK", "Initech Holdings", D("0.01"), D("100"), D("18.75")),
    ("UMBRL", "Umbrella Biotech", D("0.01"), D("1"), D("212.40")),
    ("STARK", "Stark Energy", D("0.05"), D("1"), D("355.00")),
]
OPTION_STRIKES = [D(95), D(100), D(105), D(110)]
# package symbol suffix, structure, legs as (put/call or None for the stock, strike, side when bought, ratio)
PACKAGES: list[tuple[str, str, list[tuple[PutCall | None, Decimal, Side, int]]]] = [
    ("VERT C100/110", "VERTICAL", [(PutCall.CALL, D(100), Side.BUY, 1), (PutCall.CALL, D(110), Side.SELL, 1)]),
    ("STRADDLE 100", "STRADDLE", [(PutCall.CALL, D(100), Side.BUY, 1), (PutCall.PUT, D(100), Side.BUY, 1)]),
    ("RR P95/C105", "RISK_REVERSAL", [(PutCall.PUT, D(95), Side.SELL, 1), (PutCall.CALL, D(105), Side.BUY, 1)]),
    (
        "FLY C95/100/105",
        "BUTTERFLY",
        [(PutCall.CALL, D(95), Side.BUY, 1), (PutCall.CALL, D(100), Side.SELL, 2), (PutCall.CALL, D(105), Side.BUY, 1)],
    ),
    ("C100 DELTA-HEDGED", "CUSTOM", [(PutCall.CALL, D(100), Side.BUY, 1), (None, D(0), Side.SELL, 50)]),
]


def option_expiry(today: date) -> date:
    """The demo's listed expiry: the third Friday of the first month whose third Friday is four weeks away or more."""
    year, month = today.year, today.month
    while True:
        first = date(year, month, 1)
        third_friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
        if third_friday >= today + timedelta(days=28):
            return third_friday
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# code, name, kind, maker fee, taker fee (per share), latency ms, simulated depth
VENUES = [
    ("XALP", "Alpha Exchange (primary)", VenueKind.LIT, D("-0.0020"), D("0.0030"), 1, D("3")),
    ("XBET", "Beta Exchange", VenueKind.LIT, D("-0.0015"), D("0.0025"), 2, D("1.5")),
    ("XGAM", "Gamma Exchange (inverted)", VenueKind.LIT, D("0.0010"), D("-0.0005"), 3, D("1")),
    ("DKAL", "Alpha Dark Pool", VenueKind.DARK, D("0.0010"), D("0.0010"), 2, D("1")),
    ("DKSG", "Sigma Crossing", VenueKind.DARK, D("0.0008"), D("0.0008"), 4, D("1")),
    ("DLR-NB", "Northbridge Securities", VenueKind.RFQ_DEALER, D(0), D(0), 50, D("1")),
    ("DLR-KF", "Kestrel Flow Trading", VenueKind.RFQ_DEALER, D(0), D(0), 80, D("1")),
    ("DLR-HM", "Harbor Markets", VenueKind.RFQ_DEALER, D(0), D(0), 120, D("1")),
    ("DLR-SL", "Summit Liquidity", VenueKind.RFQ_DEALER, D(0), D(0), 60, D("1")),
    ("DLR-OC", "Orchard Capital Markets", VenueKind.RFQ_DEALER, D(0), D(0), 200, D("1")),
]

# code, name, owner, cash, accounts, starting positions (symbol, qty, avg cost)
# The demo's pre-trade limits (risk1 edits them in admin): the firm's, then each portfolio's; the strictest applies.
FIRM_LIMITS: dict[str, Any] = {"max_order_notional": D("500000000"), "max_orders": 50, "per_seconds": 1}
# A limit price within this many bps of the reference (live mid, or an option's theoretical value), by asset class.
COLLARS = {AssetClass.EQUITY: D(1000), AssetClass.OPTION: D(5000)}
PORTFOLIO_LIMITS: dict[str, dict[str, Any]] = {
    "GROWTH": {"credit_limit": D("1000000000"), "daily_notional": D("2000000000"), "max_position_qty": D(5_000_000)},
    "VALUE": {
        "credit_limit": D("500000000"),
        "daily_notional": D("1000000000"),
        "max_position_qty": D(2_500_000),
        "duplicate_seconds": 5,  # an identical order within 5 s is refused unless sent with allow_duplicate
    },
}

PORTFOLIOS = [
    ("GROWTH", "Global Growth Fund", "pm1", D("50000000"), ["GROWTH-A", "GROWTH-B"], [("ACME", D(10000), D("98.20"))]),
    ("VALUE", "Deep Value Fund", "pm2", D("25000000"), ["VALUE-A", "VALUE-B"], [("GLOBX", D(5000), D("44.10"))]),
]


def option_symbol(underlying: str, expiry: date, put_call: PutCall, strike: Decimal) -> str:
    """Return an OCC-style symbol: ``ACME 261218C00100000``."""
    return f"{underlying} {expiry:%y%m%d}{put_call.value[0]}{int(strike * 1000):08d}"


class Command(BaseCommand):
    help = "Create the demo users, instruments, venues, dealers and portfolios (safe to run again)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        groups = {role: Group.objects.get_or_create(name=role)[0] for role in ROLES}
        users: dict[str, User] = {}
        for username, password, role, name in USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                first, last = name.split(" ", 1)
                user.first_name, user.last_name = first, last
                user.is_superuser = user.is_staff = role is None
                user.is_staff = user.is_staff or role == RISK  # risk manages limits in admin
                user.set_password(password)
                user.save()
                if role:
                    user.groups.add(groups[role])
            users[username] = user
        equities = {}
        for symbol, name, tick, lot, ref in EQUITIES:
            equities[symbol], _ = Instrument.objects.get_or_create(
                symbol=symbol, defaults={"name": name, "tick_size": tick, "lot_size": lot, "ref_px": ref}
            )
        acme = equities["ACME"]
        expiry = option_expiry(timezone.localdate())
        listed: dict[tuple[PutCall, Decimal], Instrument] = {}
        for strike in OPTION_STRIKES:
            for put_call in PutCall:
                intrinsic = max(acme.ref_px - strike, D(0)) if put_call is PutCall.CALL else max(strike - acme.ref_px, D(0))
                listed[put_call, strike], _ = Instrument.objects.get_or_create(
                    symbol=option_symbol("ACME", expiry, put_call, strike),
                    defaults={
                        "name": f"ACME {expiry:%d %b %y} {strike} {put_call.value.title()}",
                        "asset_class": AssetClass.OPTION,
                        "tick_size": D("0.05"),
                        "lot_size": D(1),
                        "multiplier": D(100),
                        "ref_px": intrinsic + D("2.50"),
                        "underlying": acme,
                        "strike": strike,
                        "expiry": expiry,
                        "put_call": put_call,
                    },
                )
        for suffix, structure, legs in PACKAGES:
            members = [(acme if pc is None else listed[pc, strike], side, ratio) for pc, strike, side, ratio in legs]
            package, created = Instrument.objects.get_or_create(
                symbol=f"ACME {expiry:%y%m%d} {suffix}",
                defaults={
                    "name": f"ACME {expiry:%d %b %y} {suffix.title()}",
                    "asset_class": AssetClass.OPTION,
                    "structure": structure,
                    "tick_size": D("0.005") if any(m is acme for m, _, _ in members) else D("0.05"),
                    "lot_size": D(1),
                    "multiplier": D(100),
                    "ref_px": sum((m.ref_px * side.sign * ratio * m.multiplier for m, side, ratio in members), D(0)) / 100,
                    "underlying": acme,
                },
            )
            if created:
                for number, (member, side, ratio) in enumerate(members, start=1):
                    InstrumentLeg.objects.create(package=package, leg_no=number, instrument=member, side=side, ratio=ratio)
        covers = {profile.code: {kind.value for kind in profile.covers} for profile in DEMO_PROFILES}
        for code, name, kind, maker, taker, latency, depth in VENUES:
            Venue.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "maker_fee": maker,
                    "taker_fee": taker,
                    "latency_ms": latency,
                    "depth_scale": depth,
                    **({"covers": sorted(covers[code])} if code in covers else {}),
                },
            )
        for code, name, owner, cash, accounts, positions in PORTFOLIOS:
            portfolio, created = Portfolio.objects.get_or_create(
                code=code, defaults={"name": name, "owner": users[owner], "cash": cash}
            )
            for account in accounts:
                Account.objects.get_or_create(code=account, defaults={"portfolio": portfolio, "name": f"{name} {account[-1]}"})
            if created:
                for symbol, qty, cost in positions:
                    Position.objects.create(portfolio=portfolio, instrument=equities[symbol], qty=qty, cost_basis=qty * cost)
            RiskLimit.objects.get_or_create(portfolio=portfolio, instrument=None, asset_class="", defaults=PORTFOLIO_LIMITS[code])
        RiskLimit.objects.get_or_create(portfolio=None, instrument=None, asset_class="", defaults=FIRM_LIMITS)
        for asset_class, collar in COLLARS.items():
            RiskLimit.objects.get_or_create(
                portfolio=None, instrument=None, asset_class=asset_class, defaults={"collar_bps": collar}
            )
        MarketSimulator.objects.get_or_create(pk=1)
        RouterSettings.objects.get_or_create(pk=1)
        self._print_logins(users)

    def _print_logins(self, users: dict[str, User]) -> None:
        self.stdout.write("Demo logins (web: password; REST: Authorization: Token <token>):")
        for username, password, role, _ in USERS:
            token, _ = Token.objects.get_or_create(user=users[username])
            self.stdout.write(f"  {username:<8} {password:<14} {role or 'admin':<7} token {token.key}")
