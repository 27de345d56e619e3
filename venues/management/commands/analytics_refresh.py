"""``manage.py analytics_refresh``: recompute and store every listed instrument's market analytics."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from venues.analytics import Analytics
from venues.services import analytics_refresh

DEFAULT_DAYS = 5


class Command(BaseCommand):
    help = "Simulate each listed instrument's market history, compute its analytics and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"trading days of history (default {DEFAULT_DAYS})")
        parser.add_argument("--seed", type=int, default=None, help="the simulator's seed (default: the market simulator's)")
        parser.add_argument("--symbols", default="", help="comma-separated symbols (default: every listed instrument)")
        parser.add_argument("--missing-only", action="store_true", help="skip instruments that already have analytics")

    def handle(self, *args: Any, **options: Any) -> None:
        symbols = [symbol.strip() for symbol in options["symbols"].split(",") if symbol.strip()]
        try:
            results = analytics_refresh(
                days=options["days"], seed=options["seed"], symbols=symbols or None, missing_only=options["missing_only"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not results:
            self.stdout.write("nothing to do: no instruments listed, or all have analytics")
        failed = []
        for symbol, result in results.items():
            if isinstance(result, Analytics):
                self.stdout.write(
                    f"{symbol}: ADV {result.adv} | daily vol {result.volatility_daily}"
                    f" | spread {result.spread_bps} bps ({result.days} days)"
                )
            else:
                self.stderr.write(f"{symbol}: not stored: {result}")
                failed.append(symbol)
        if failed:
            raise CommandError(f"analytics not stored for {', '.join(failed)}")
