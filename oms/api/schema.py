"""What the OpenAPI schema cannot read from the code by itself (drf-spectacular extensions and hooks).

Imported once at start-up (``oms.apps``) so the extension is registered before
any schema is generated; the hook is named in ``SPECTACULAR_SETTINGS``.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction

from config.fields import enum_choices
from trading.enums import AssetClass, Side
from trading.rfq import RfqSide
from trading.states import OrdStatus

# Two choice sets are both called `side`: an order's, and an RFQ's (which may be two-way). ENUM_NAME_OVERRIDES names them.
ORDER_SIDES = enum_choices(Side)
ASSET_CLASSES = enum_choices(AssetClass)  # an instrument's, and the asset classes a dealer covers
ORD_STATUSES = enum_choices(OrdStatus)  # a parent's and a child's status, and the orders list's filter
RFQ_SIDES = enum_choices(RfqSide)

# Filled in by ``OrderSerializer.to_representation`` from the execution port, so the serializer declares no field for them.
_EXECUTION_NOW = {
    "execution_strategy": {
        "type": "string",
        "description": "The strategy working the order now; blank until the EMS has chosen.",
    },
    "execution_base_strategy": {
        "type": "string",
        "description": "The first strategy the EMS chose; blank until it has chosen.",
    },
    "execution_updated_at": {
        "type": "string",
        "format": "date-time",
        "nullable": True,
        "description": "The execution's last change (a strategy switch leaves the order's `updated_at` as it was).",
    },
    "schedule_qty": {
        "type": "string",
        "format": "decimal",
        "nullable": True,
        "description": "Where the schedule said the order should be at the algo's latest tick; null: no schedule.",
    },
    "arrival_mid": {
        "type": "string",
        "format": "decimal",
        "nullable": True,
        "description": "The mid when the execution started; null until it has started.",
    },
    "slippage_bps": {
        "type": "string",
        "format": "decimal",
        "nullable": True,
        "description": "The filled part's average price against `arrival_mid`, in bps; positive is a cost.",
    },
}


class OrderSerializerSchema(OpenApiSerializerExtension):
    """Add the ``execution_*`` fields to every order shape (``OrderSerializer`` and its subclasses)."""

    target_class = "oms.api.serializers.OrderSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "response":
            schema["properties"].update(_EXECUTION_NOW)
            schema["required"] = [*schema.get("required", []), *_EXECUTION_NOW]
        return schema


class TimeFieldSchema(OpenApiSerializerFieldExtension):
    """A time of day as DRF writes it (``09:30:00``, a venue's local session time): a pattern, not the ``time`` format.

    JSON Schema's ``time`` format is RFC 3339's full-time, which needs an offset (``09:30:00Z``), so a validator
    refused every session time the API sent.
    """

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$", "example": "09:30:00"}


def document_unauthorized(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Add the 401 response to every operation that refuses anonymous callers (all of them, by the API's default)."""
    response = {
        "description": "No credentials, or bad ones: send `Authorization: Token <key>`.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if {} not in operation.get("security", [{}]):
                operation["responses"].setdefault("401", response)
    return result
