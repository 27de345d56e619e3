from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _holds_nul(data: Any) -> bool:
    """Return whether any string of parsed JSON, key or value, holds a NUL character (iterative: any depth)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class DecimalJSONParser(JSONParser):
    """Parse JSON numbers with a fraction as ``Decimal``, never ``float``.

    Refuse, as a 400, a body that nests deeper than Python can decode, and one holding a NUL character (``\\u0000``):
    PostgreSQL can neither store nor compare one, so a look-up by such a value (``"portfolio": "GROWTH\\u0000"``)
    failed with a 500, and no code, symbol or text of ours contains one.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        import json

        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"malformed JSON: {exc}") from exc
        except RecursionError as exc:
            raise ParseError("malformed JSON: nested too deep") from exc
        if _holds_nul(data):
            raise ParseError("a NUL character (\\u0000) is not allowed in any string")
        return data
