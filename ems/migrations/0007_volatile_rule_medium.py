"""The shipped "volatile" rule now asks for MEDIUM urgency: a LOW urgency order follows the volume (patient-large) in a
volatile market too, which ``make bench`` measured cheaper than the Almgren-Chriss front-loading at 5, 10 and 25 % of
ADV. A row an admin has edited since (its urgency no longer blank) is left as it is."""

from typing import Any

from django.db import migrations


def _forward(apps: Any, schema_editor: Any) -> None:
    apps.get_model("ems", "SelectionRule").objects.filter(name="volatile", urgency="").update(urgency="MEDIUM")


def _backward(apps: Any, schema_editor: Any) -> None:
    apps.get_model("ems", "SelectionRule").objects.filter(name="volatile", urgency="MEDIUM").update(urgency="")


class Migration(migrations.Migration):
    dependencies = [("ems", "0006_block_rule")]
    operations = [migrations.RunPython(_forward, _backward)]
