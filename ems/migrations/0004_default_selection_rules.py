"""Ship the default selection matrix (``ems.core.selection.DEFAULT_RULES``) as editable rows."""

from typing import Any

from django.db import migrations


def _rows(apps: Any, schema_editor: Any) -> None:
    from ems.core.selection import DEFAULT_RULES  # the rules as shipped when this runs; admin edits them after

    rule_model = apps.get_model("ems", "SelectionRule")
    for rule in DEFAULT_RULES:
        rule_model.objects.get_or_create(
            name=rule.name,
            defaults={
                "priority": rule.priority,
                "strategy": rule.strategy.value,
                "params": dict(rule.params),
                "rationale": rule.rationale,
                "urgency": rule.urgency.value if rule.urgency else "",
                "asset_class": rule.asset_class.value if rule.asset_class else "",
                "multi_leg": rule.multi_leg,
                "min_adv_share": rule.min_adv_share,
                "max_adv_share": rule.max_adv_share,
                "volatility_regime": rule.volatility_regime or "",
                "min_spread_bps": rule.min_spread_bps,
                "max_spread_bps": rule.max_spread_bps,
                "min_depth_multiple": rule.min_depth_multiple,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("ems", "0003_algos")]
    operations = [migrations.RunPython(_rows, migrations.RunPython.noop)]
