"""One error format for the whole API.

Every 4xx has the shape ``{"error": {"status", "code", "message", "fields"}}``:
``fields`` maps each bad field to its reasons, so a client can point at it.
No stack trace ever reaches a client; 5xx bodies say only that it failed.
"""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _flatten(value)]
    return [str(detail)]


def error_body(*, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields: dict[str, list[str]] = {}
    code: str
    if isinstance(detail, dict) and "detail" not in detail:
        fields = {key: _flatten(value) for key, value in detail.items()}
        message = "; ".join(f"{key}: {' '.join(reasons)}" for key, reasons in fields.items())
        code = "invalid"
    else:
        raw = detail.get("detail", detail) if isinstance(detail, dict) else detail
        message = " ".join(_flatten(raw))
        code = str(getattr(raw, "code", None) or getattr(exc, "default_code", "error"))
    response.data = error_body(status=response.status_code, code=str(code), message=message, fields=fields)
    return response
