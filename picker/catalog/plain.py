"""Catalog records as plain JSON values, and back with every field's type checked.

The cached copy of the validated catalog (builtcache.py) is stored as JSON, which can
hold nothing but text, numbers, lists and maps, so reading a planted or damaged file can
never run code. Reading it back rebuilds each record from a list of its fields in order,
checking each value against the field's annotation in `picker.catalog.types`; anything
that does not fit raises `PlainValueError`, and the caller builds the catalog afresh.

The ~1,500 records of a catalog are checked and built a column at a time: all the
quantizations of all the models together, each field's types tested by one set operation
and each record made by `map` in C, so the copy reads back in about the time pickle
took, instead of a Python call per record.
"""

import types
from collections import abc
from collections.abc import Iterable, Sequence
from itertools import chain, islice, repeat
from operator import is_not
from typing import Any, NamedTuple, TypeVar, Union, get_args, get_origin

Record = TypeVar("Record", bound=NamedTuple)

# A field of this annotation accepts exactly these JSON value types (a float field may
# hold an int: TOML's `90` stays an int in the validated catalog).
_SCALARS: dict[object, frozenset[type]] = {
    str: frozenset({str}), int: frozenset({int}), float: frozenset({float, int}),
    bool: frozenset({bool}), type(None): frozenset({type(None)}),
}
_LIST, _DICT = frozenset({list}), frozenset({dict})


class PlainValueError(ValueError):
    """A plain value does not have the shape of the record it should become."""


def to_plain(value: object) -> object:
    """Records as lists of their fields, tuples as lists, sets as sorted lists."""
    if isinstance(value, tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def from_plain(record_type: type[Record], raw: object) -> Record:
    """`raw` (as `to_plain` made it) as a `record_type`; PlainValueError if any field is off."""
    (record,) = _records(record_type, [raw])
    return record  # type: ignore[no-any-return]


def many_from_plain(record_type: type[Record], raw: object) -> list[Record]:
    """A list of `raw`'s records (each as `to_plain` made it), checked a column at a time;
    PlainValueError if any field of any of them is off."""
    if type(raw) is not list:
        raise _mismatch(list, type(raw).__name__)
    return _records(record_type, raw)


def _mismatch(what: object, found: object) -> PlainValueError:
    name = getattr(what, "__name__", None) or str(what)
    return PlainValueError(f"expected {name}, found {found}")


def _check(allowed: frozenset[type], values: Iterable[object], what: object) -> None:
    """Every value one of the allowed types (one pass in C)."""
    found = set(map(type, values))
    if not allowed.issuperset(found):
        raise _mismatch(what, ", ".join(sorted(t.__name__ for t in found - allowed)))


def _optional(annotation: object) -> object | None:
    """X for `X | None`, else None."""
    arguments = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in arguments:
        others = [a for a in arguments if a is not type(None)]
        if len(others) == 1:
            return others[0]  # type: ignore[no-any-return]
    return None


def _records(record_type: type, raws: Sequence[Any]) -> list[Any]:
    """Records of one type from their field lists, checked and built a column at a time."""
    if not raws:
        return []
    fields: tuple[str, ...] = record_type._fields  # type: ignore[attr-defined]
    _check(_LIST, raws, record_type)
    if set(map(len, raws)) != {len(fields)}:
        raise _mismatch(record_type, "a list of another length")
    annotations = record_type.__annotations__
    columns = list(zip(*raws))  # noqa: B905 (every list has len(fields) items: checked above)
    decoded = [_column(annotations[name], column) for name, column in zip(fields, columns, strict=True)]
    changed = any(map(is_not, decoded, columns))
    rows = zip(*decoded) if changed else raws  # noqa: B905 (columns of one length)
    return list(map(tuple.__new__, repeat(record_type), rows))


def _column(annotation: object, values: Sequence[Any]) -> Sequence[Any]:
    """One field's values, checked against `annotation` and decoded (the same list when the
    values stand as they are)."""
    allowed = _SCALARS.get(annotation)
    if allowed is not None:
        _check(allowed, values, annotation)
        return values
    inner = _optional(annotation)
    if inner is not None:
        present = [index for index, value in enumerate(values) if value is not None]
        if len(present) == len(values):
            return _column(inner, values)
        decoded = _column(inner, [values[index] for index in present])
        result: list[Any] = [None] * len(values)
        for index, value in zip(present, decoded, strict=True):
            result[index] = value
        return result
    if isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields"):
        return _records(annotation, values)
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin in (frozenset, abc.Sequence) or (origin is tuple and arguments[-1:] == (Ellipsis,)):
        _check(_LIST, values, annotation)
        made = tuple if origin is abc.Sequence else origin  # a Sequence read back is a tuple
        items = list(chain.from_iterable(values))
        decoded_items = _column(arguments[0], items)
        if decoded_items is items:
            return list(map(made, values))
        flowing = iter(decoded_items)  # each group takes its own count of items, in order
        return list(map(made, map(islice, repeat(flowing), map(len, values))))
    if origin is dict and arguments[0] is str:
        _check(_DICT, values, annotation)  # JSON keys are always text
        flowing = iter(_column(arguments[1], list(chain.from_iterable(map(dict.values, values)))))
        return [dict(zip(mapping, islice(flowing, len(mapping)), strict=True)) for mapping in values]
    raise TypeError(f"no plain form for {annotation!r}")  # a new kind of field: teach _column
