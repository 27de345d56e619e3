"""Add the shipped rules new since 0004 (the "block" rule: half a day's volume or more goes to RFQ); edited rows stay."""

import importlib
from typing import Any

from django.db import migrations


def _rows(apps: Any, schema_editor: Any) -> None:
    importlib.import_module("ems.migrations.0004_default_selection_rules")._rows(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("ems", "0005_rfq")]
    operations = [migrations.RunPython(_rows, migrations.RunPython.noop)]
