"""``manage.py analytics_refresh``: recompute and store every listed instrument's market analytics."""

import importlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.module_loading import import_string

from venues.analytics import MarketHistory, analytics_compute
from venues.models import MarketSimulator
from venues.services import analytics_store
from venues.sim.lit import Listing

DEFAULT_DAYS = 20


def _history_simulate() -> Callable[..., MarketHistory]:
    """Return ``venues.sim.history.history_simulate(listing, *, days, seed) -> MarketHistory``, imported when run."""
    history_simulate: Callable[..., MarketHistory] = importlib.import_module("venues.sim.history").history_simulate
    return history_simulate


def _listings() -> list[Listing]:
    return [
        Listing(symbol=row["symbol"], tick_size=row["tick_size"], lot_size=row["lot_size"], ref_px=row["ref_px"])
        for row in import_string(settings.GATEWAY_REFDATA)()
    ]


def _default_seed() -> int:
    simulator = MarketSimulator.objects.order_by("pk").first()
    return simulator.seed if simulator is not None else MarketSimulator._meta.get_field("seed").get_default()


class Command(BaseCommand):
    help = "Simulate each listed instrument's market history, compute its analytics and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"trading days of history (default {DEFAULT_DAYS})")
        parser.add_argument("--seed", type=int, default=None, help="the simulator's seed (default: the market simulator's)")
        parser.add_argument("--symbols", default="", help="comma-separated symbols (default: every listed instrument)")

    def handle(self, *args: Any, **options: Any) -> None:
        days: int = options["days"]
        if days < 1:
            raise CommandError(f"invalid `--days`, was {days}")
        seed: int = options["seed"] if options["seed"] is not None else _default_seed()
        listings = _listings()
        wanted = [symbol.strip() for symbol in options["symbols"].split(",") if symbol.strip()]
        if wanted:
            unknown = sorted(set(wanted) - {listing.symbol for listing in listings})
            if unknown:
                raise CommandError(f"invalid `--symbols`, not listed: {', '.join(unknown)}")
            listings = [listing for listing in listings if listing.symbol in wanted]
        if not listings:
            self.stdout.write("no instruments listed: seed the demo or add instruments in admin")
            return
        history_simulate = _history_simulate()
        as_of = timezone.now()
        failed = []
        for listing in listings:
            try:
                analytics = analytics_compute(history_simulate(listing, days=days, seed=seed))
            except ValueError as exc:
                # One instrument's unusable history should not keep the others' analytics stale.
                self.stderr.write(f"{listing.symbol}: not stored: {exc}")
                failed.append(listing.symbol)
                continue
            analytics_store(analytics=analytics, as_of=as_of)
            self.stdout.write(
                f"{analytics.symbol}: ADV {analytics.adv} | daily vol {analytics.volatility_daily}"
                f" | spread {analytics.spread_bps} bps ({analytics.days} days)"
            )
        if failed:
            raise CommandError(f"analytics not stored for {', '.join(failed)}")
