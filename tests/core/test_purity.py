"""The pure core imports no Django, directly or through anything it imports."""

import os
import subprocess
import sys
from pathlib import Path

PURE_MODULES = [
    "trading.enums",
    "trading.states",
    "trading.numbers",
    "trading.clock",
    "trading.messages",
    "trading.rfq",
    "venues.sim.book",
    "venues.sim.ticks",
    "venues.sim.clients",
    "venues.sim.lit",
    "venues.sim.dark",
    "venues.sim.background",
    "venues.sim.market",
    "venues.sim.history",
    "venues.sim.lobster",
    "venues.sim.bench",
    "venues.sim.options",
    "venues.sim.dealers",
    "venues.composite",
    "venues.analytics",
    "oms.core.allocation",
    "oms.core.positions",
    "oms.core.risk",
    "oms.core.validation",
    "router.core.market",
    "router.core.scoring",
    "router.core.policy",
    "router.core.sim",
    "router.bench",
    "ems.core.strategies",
    "ems.core.algos",
    "ems.core.schedules",
    "ems.core.ticks",
    "ems.core.selection",
    "ems.core.almgren_chriss",
    "ems.core.tca",
    "ems.core.bestex",
    "ems.core.sim",
    "ems.core.rfq",
    "ems.core.rfq_codec",
    "ems.bench",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

PROBE = f"""
import importlib, sys
for name in {PURE_MODULES!r}:
    importlib.import_module(name)
print("IMPORTED", len({PURE_MODULES!r}))
print("DJANGO", sorted(m for m in sys.modules if m.startswith("django")))
"""


def test_pure_modules_import_without_django():
    # given a fresh interpreter without Django settings
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # when
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    # then
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [f"IMPORTED {len(PURE_MODULES)}", "DJANGO []"], result.stdout


def test_probe_detects_django_when_it_is_imported():
    # given the same probe with Django imported first (so the check above could fail)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # when
    result = subprocess.run(
        [sys.executable, "-c", "import django\n" + PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("DJANGO ['django'")
