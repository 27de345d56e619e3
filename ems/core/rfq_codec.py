"""Store an ``RfqBook`` as JSON and read it back exactly. Pure.

The Django shell keeps each request's book in a ``JSONField`` and rebuilds it
for every event, so ``book_load(book_dump(book)) == book`` must hold for every
book the auction produces, down to each Decimal's exponent (``1.50`` stays
``1.50``: reasons, reports and the blotter print it).

One type-directed walk does both directions, reading each dataclass's type
hints, so a field added to the book is stored without touching this module:

- a dataclass is an object with every field (a ``Quote`` too: one scheme for the
  whole book, and ``null`` rather than the wire's ``""`` for a missing price);
- ``Decimal`` is the string ``str()`` writes, which keeps sign, digits and
  exponent; a JSON number would go through float;
- an enum is its value; a tuple is a list; a frozenset is a sorted list;
- ``int``, ``str``, ``bool`` and ``None`` are themselves. Times are integer
  nanoseconds, above 2**53: PostgreSQL's jsonb and Python's ``json`` keep them
  exact (a JavaScript reader would not).

Loading is strict, because a row edited by hand must fail loudly rather than
give a half book: every field present, no unknown field, each value of its
type, Decimals finite and written as ``str()`` writes them (so a loaded book
dumps back to the same JSON). ``version`` lets a later format migrate old rows.
"""

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

from ems.core.rfq import RfqBook

VERSION: Final = 1


def book_dump(book: RfqBook) -> dict[str, Any]:
    """Return the book as JSON-safe values (dict, list, str, int, bool, None) plus ``version``.

    Raise ValueError naming the field whose value does not match its type hint
    (a float price, say): refused when saved, not discovered when loaded.
    """
    return {"version": VERSION, **_dump(book, RfqBook, "")}


def book_load(data: Mapping[str, Any]) -> RfqBook:
    """Return the book ``book_dump`` wrote; raise ValueError naming the first missing, unknown or bad field."""
    if not isinstance(data, Mapping):
        raise ValueError(f"invalid book, was {type(data).__name__}: a JSON object")
    if "version" not in data:
        raise ValueError("missing field `version`")
    version = data["version"]
    if type(version) is not int or version != VERSION:  # True == 1, hence the type check
        raise ValueError(f"invalid `version`, was {version!r}: this code reads version {VERSION}")
    book: RfqBook = _load({k: v for k, v in data.items() if k != "version"}, RfqBook, "")
    return book


@cache
def _field_hints(cls: type) -> dict[str, Any]:
    """The dataclass's fields in declaration order, each with its resolved type."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _optional(hint: Any) -> Any | None:
    """The ``X`` of ``X | None``, else None (the book has no other unions)."""
    if get_origin(hint) not in (Union, UnionType):
        return None
    (inner,) = (arg for arg in get_args(hint) if arg is not NoneType)
    return inner


def _is_scalar(value: Any, hint: Any) -> bool:
    """Whether ``value`` is a ``hint`` (bool, int or str); a bool is not an int here, though Python says it is."""
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))


def _invalid(path: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"invalid `{path}`, was {value!r}: {expected}")


def _dump(value: Any, hint: Any, path: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if (inner := _optional(hint)) is not None:
        return None if value is None else _dump(value, inner, path)
    if origin is tuple or origin is frozenset:
        if not isinstance(value, origin):
            raise _invalid(path, value, f"a {origin.__name__}")
        items = [_dump(item, args[0], f"{path}[{n}]") for n, item in enumerate(value)]
        return sorted(items) if origin is frozenset else items  # a set has no order; sorted, its JSON is stable
    if isinstance(hint, type) and is_dataclass(hint):
        if not isinstance(value, hint):
            raise _invalid(path, value, f"a {hint.__name__}")
        return {name: _dump(getattr(value, name), field_hint, _join(path, name)) for name, field_hint in _field_hints(hint).items()}
    if hint is Decimal:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise _invalid(path, value, "a finite Decimal")
        return str(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        if not isinstance(value, hint):
            raise _invalid(path, value, f"a {hint.__name__}")
        return value.value
    if hint in (bool, int, str):
        if not _is_scalar(value, hint):
            raise _invalid(path, value, f"a {hint.__name__}")
        return hint(value)  # a StrEnum in a str field is stored as its plain value
    raise TypeError(f"no JSON form for {hint!r} at `{path}`")


def _load(raw: Any, hint: Any, path: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if (inner := _optional(hint)) is not None:
        return None if raw is None else _load(raw, inner, path)
    if origin is tuple or origin is frozenset:
        if not isinstance(raw, list):
            raise _invalid(path, raw, "a list")
        items = [_load(item, args[0], f"{path}[{n}]") for n, item in enumerate(raw)]
        if origin is frozenset and len(set(items)) != len(items):
            raise _invalid(path, raw, "each item once")  # else the duplicate would vanish silently
        return origin(items)
    if isinstance(hint, type) and is_dataclass(hint):
        if not isinstance(raw, Mapping):
            raise _invalid(path, raw, "a JSON object")
        field_hints = _field_hints(hint)
        missing = [name for name in field_hints if name not in raw]
        if missing:
            raise ValueError(f"missing field `{_join(path, missing[0])}`")
        unknown = sorted(str(key) for key in raw if key not in field_hints)
        if unknown:
            raise ValueError(f"unknown field `{_join(path, unknown[0])}`")
        return hint(**{name: _load(raw[name], field_hint, _join(path, name)) for name, field_hint in field_hints.items()})
    if hint is Decimal:
        return _load_decimal(raw, path)
    if isinstance(hint, type) and issubclass(hint, Enum):
        members = [member.value for member in hint]
        if not isinstance(raw, str) or raw not in members:
            raise _invalid(path, raw, f"one of {', '.join(members)}")
        return hint(raw)
    if hint in (bool, int, str):
        if not _is_scalar(raw, hint):
            raise _invalid(path, raw, f"a JSON {'integer' if hint is int else hint.__name__}")
        return raw
    raise TypeError(f"no JSON form for {hint!r} at `{path}`")


def _load_decimal(raw: Any, path: str) -> Decimal:
    """Parse a Decimal written as ``str()`` writes it: exact, finite, and dumped back unchanged."""
    if not isinstance(raw, str):
        raise _invalid(path, raw, "a Decimal as a string, e.g. '1.50'")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _invalid(path, raw, "a Decimal as a string, e.g. '1.50'") from None
    if not value.is_finite():
        raise _invalid(path, raw, "a finite Decimal")
    if str(value) != raw:  # Decimal() also takes ' 1.5', '1_000', '.5': a hand edit; say what to write
        raise _invalid(path, raw, f"a Decimal as str() writes it, {str(value)!r}")
    return value
