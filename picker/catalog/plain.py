"""Catalog records as plain JSON values, and back with every field's type checked.

The cached copy of the validated catalog (builtcache.py) is stored as JSON, which can
hold nothing but text, numbers, lists and maps, so reading a planted or damaged file can
never run code. Reading it back rebuilds each record from a list of its fields in order,
checking each value against the field's annotation in `picker.catalog.types`; anything
that does not fit raises `PlainValueError`, and the caller builds the catalog afresh.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, Union, get_args, get_origin

Record = TypeVar("Record", bound=NamedTuple)
Decoder = Callable[[Any], Any]

# A field of this annotation accepts exactly these JSON value types (a float field may
# hold an int: TOML's `90` stays an int in the validated catalog).
_SCALARS: dict[object, tuple[type, ...]] = {
    str: (str,), int: (int,), float: (float, int), bool: (bool,), type(None): (type(None),),
}
_DECODERS: dict[object, Decoder] = {}


class PlainValueError(ValueError):
    """A plain value does not have the shape of the record it should become."""


def to_plain(value: Any) -> Any:
    """Records as lists of their fields, tuples as lists, sets as sorted lists."""
    if isinstance(value, tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def from_plain(record_type: type[Record], raw: Any) -> Record:
    """`raw` (as `to_plain` made it) as a `record_type`; PlainValueError if any field is off."""
    result: Record = decoder(record_type)(raw)
    return result


def decoder(annotation: object) -> Decoder:
    """The checking decoder for values of `annotation`, built once per annotation."""
    found = _DECODERS.get(annotation)
    if found is None:
        found = _DECODERS[annotation] = _build(annotation)
    return found


def _mismatch(what: object, raw: Any) -> PlainValueError:
    name = getattr(what, "__name__", None) or str(what)
    return PlainValueError(f"expected {name}, found {type(raw).__name__}")


def _list(raw: Any, what: object) -> list[Any]:
    if type(raw) is not list:
        raise _mismatch(what, raw)
    return raw


def _build(annotation: object) -> Decoder:
    allowed = _SCALARS.get(annotation)
    if allowed is not None:
        def scalar(raw: Any) -> Any:
            if type(raw) not in allowed:
                raise _mismatch(annotation, raw)
            return raw

        return scalar
    if isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields"):
        return _record(annotation)
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        item = decoder(arguments[0])
        return lambda raw: tuple([item(x) for x in _list(raw, annotation)])
    if origin is frozenset:
        member = decoder(arguments[0])
        return lambda raw: frozenset([member(x) for x in _list(raw, annotation)])
    if origin is dict and arguments[0] is str:
        value = decoder(arguments[1])

        def mapping(raw: Any) -> dict[str, Any]:
            if type(raw) is not dict:
                raise _mismatch(annotation, raw)
            return {key: value(item) for key, item in raw.items()}  # JSON keys are always text

        return mapping
    if origin in (Union, types.UnionType) and type(None) in arguments and len(arguments) == 2:
        inner = decoder(next(a for a in arguments if a is not type(None)))
        return lambda raw: None if raw is None else inner(raw)
    raise TypeError(f"no plain form for {annotation!r}")  # a new kind of field: teach _build


def _record(record_type: type) -> Decoder:
    """Fields checked in one loop: scalars by a type test, the rest by their decoder."""
    annotations = record_type.__annotations__
    plans: list[tuple[type, ...] | Decoder] = [
        _SCALARS.get(annotations[name]) or decoder(annotations[name])
        for name in record_type._fields  # type: ignore[attr-defined]
    ]
    count = len(plans)
    make = tuple.__new__

    def record(raw: Any) -> Any:
        if type(raw) is not list or len(raw) != count:
            raise _mismatch(record_type, raw)
        values = []
        for plan, item in zip(plans, raw):  # noqa: B905 (lengths checked just above)
            if type(plan) is tuple:
                if type(item) not in plan:
                    raise _mismatch(record_type, item)
                values.append(item)
            else:
                values.append(plan(item))  # type: ignore[operator]
        return make(record_type, values)

    return record
