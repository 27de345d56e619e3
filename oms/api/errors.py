"""One error format for the whole API.

Every 4xx has the shape ``{"error": {"status", "code", "message", "fields"}}``:
``fields`` maps each bad field to its reasons, so a client can point at it.
No stack trace ever reaches a client; 5xx bodies say only that it failed.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _flatten(value)]
    return [str(detail)]


def error_body(
    *,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
    details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The one error body; ``details`` (when given) lists each failure with its own code: an order's risk checks."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message, "fields": fields or {}}
    if details is not None:
        body["details"] = details
    return {"error": body}


class ErrorItemSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer[Any]):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="What kind of error, for a program: `invalid`, `parse_error`, `order_rejected`, `conflict`, `order_state`, "
        "`rfq_invalid`, `rfq_state`, `not_authenticated`, `authentication_failed`, `permission_denied`, `not_found`."
    )
    message = serializers.CharField(help_text="What went wrong, for a person.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Declared here, not as a class attribute: `fields` is the Serializer's own attribute.
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Each bad field and its reasons; empty when no one field is to blame.",
        )
        fields["details"] = ErrorItemSerializer(
            many=True,
            required=False,
            help_text="An order's refusal: each failed check with its own code (`MAX_QTY`, `PRICE_COLLAR`, `CREDIT_LIMIT`, "
            "`KILL_SWITCH`, `off_lot`, ...) and the field it is about (`non_field_errors` for the order as a whole).",
        )
        return fields


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx response, as ``error_body`` builds it (the OpenAPI schema's one error component)."""

    error = ErrorDetailSerializer()


_ERROR_MEANINGS = {
    400: "Bad input: `fields` names each bad field and why.",
    401: "No credentials, or bad ones: send `Authorization: Token <key>`.",
    403: "Your role may not do this.",
    404: "No such object, or not one you may see.",
    409: "The object's state refuses the action now (or a `cl_ord_id` was reused for other terms).",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Return the OpenAPI responses for these error statuses, all with the one error body."""
    return {status: OpenApiResponse(ErrorSerializer, description=_ERROR_MEANINGS[status]) for status in statuses}


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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 (``handler404``): under ``/api/``, the API's error body, even for a URL no route matches.

    A detail URL whose id no route accepts (``/api/orders/1.5/``) never reaches a view, so without this a client
    would get an HTML page instead of the one error shape.
    """
    if request.path.startswith("/api/"):
        message = f"no such resource: `{request.path}`"
        return JsonResponse(error_body(status=404, code="not_found", message=message), status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 (``handler500``): under ``/api/``, the one error body saying only that it failed; never a trace."""
    if request.path.startswith("/api/"):
        message = "the server failed to handle the request; it is logged: retry, or tell the desk if it persists"
        return JsonResponse(error_body(status=500, code="server_error", message=message), status=500)
    return django_server_error(request)
