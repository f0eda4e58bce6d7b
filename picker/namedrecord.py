"""`NamedRecord`: a typing.NamedTuple class, built without compiling code when it is defined.

typing.NamedTuple makes each class through collections.namedtuple, which compiles a
`__new__` from source text (an `eval`) and checks every annotation: ~0.86 M instructions a
class (callgrind, one 8-field class), and `picker --json` defines ~57 of them before it can
answer. A NamedRecord class is the same tuple subclass with one shared, precompiled `__new__`
(~0.16 M instructions a class). Measured on `picker --json` (callgrind, the same catalog and
PICKER_HOME, 2026-12-06): the 27 classes it defines that are made at most a few times a run
(records, requests, settings, the probe's readings, paths, use cases, GPU table rows) as
NamedRecords took it from 354.3 M instructions to 340.9 M (-3.8 %, ~2.5 ms).

For the type checker a NamedRecord *is* typing.NamedTuple (imported as such under
TYPE_CHECKING), so mypy checks construction, `_replace`, unpacking and field types exactly
as for a NamedTuple. At run time it has the same interface: a tuple, fields by name,
`_fields`, `_field_defaults`, `_make`, `_replace`, `_asdict`, the field repr,
`__match_args__`, pickling, and the class body's own methods and properties
(tests/test_namedrecord.py holds both side by side). The cost: construction by keyword takes
~3 us for 10 fields where NamedTuple's compiled `__new__` takes ~1 us (positionally they are
alike), so a class made thousands of times per run stays a NamedTuple.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Self

_MISSING: Any = object()  # a field no argument and no default filled
# A field read by position: collections.namedtuple's own descriptor (in C; private, so
# looked up, and namedtuple's fallback where it is missing). A property over itemgetter
# reads ~1.5x slower: 4.6 M instructions more on `picker --json` (callgrind, 2026-12-06).
_field: Callable[[int, str], Any] = getattr(
    collections, "_tuplegetter", lambda position, doc: property(itemgetter(position), doc=doc))


class _RecordTuple(tuple[Any, ...]):
    """What every NamedRecord class inherits: collections.namedtuple's methods, for any fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _field_defaults: dict[str, Any] = {}

    @classmethod
    def _make(cls, iterable: Iterable[object]) -> Self:
        record = tuple.__new__(cls, iterable)
        if len(record) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(record)}")
        return record

    def _replace(self, **changes: object) -> Self:
        record = tuple.__new__(type(self), map(changes.pop, self._fields, self))
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return record

    def _asdict(self) -> dict[str, object]:
        return dict(zip(self._fields, self, strict=True))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({fields})"

    def __getnewargs__(self) -> tuple[object, ...]:
        return tuple(self)


def _constructor(name: str, fields: tuple[str, ...],
                 defaults: dict[str, object]) -> Callable[..., _RecordTuple]:
    """The class's `__new__`: positional and keyword arguments, defaults, NamedTuple's errors."""
    count = len(fields)
    position_of = {field: position for position, field in enumerate(fields)}
    template = [defaults.get(field, _MISSING) for field in fields]

    def __new__(cls: type[_RecordTuple], *args: object, **kwargs: object) -> _RecordTuple:
        if not kwargs and len(args) == count:
            return tuple.__new__(cls, args)
        if len(args) > count:
            raise TypeError(f"{name}() takes {count} positional arguments but {len(args)} "
                            "were given")
        values = template.copy()
        values[:len(args)] = args
        for field, value in kwargs.items():
            position = position_of.get(field)
            if position is None:
                raise TypeError(f"{name}() got an unexpected keyword argument {field!r}")
            if position < len(args):
                raise TypeError(f"{name}() got multiple values for argument {field!r}")
            values[position] = value
        if _MISSING in values:
            missing = [field for field, value in zip(fields, values, strict=True) if value is _MISSING]
            raise TypeError(f"{name}() missing required arguments: {', '.join(map(repr, missing))}")
        return tuple.__new__(cls, values)

    return __new__


class _NamedRecordMeta(type):
    """Turns `class X(NamedRecord): field: type = default ...` into a tuple subclass."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
        if not bases:  # NamedRecord itself
            return super().__new__(mcs, name, bases, namespace)
        annotations = namespace.get("__annotations__", {})
        assert isinstance(annotations, dict)  # the class body's, in field order
        fields: tuple[str, ...] = tuple(annotations)
        defaults = {field: namespace[field] for field in fields if field in namespace}
        body = {key: value for key, value in namespace.items() if key not in defaults}
        body.update(__slots__=(), _fields=fields, _field_defaults=defaults,
                    __match_args__=fields, __new__=_constructor(name, fields, defaults))
        body.setdefault("__doc__", f"{name}({', '.join(fields)})")
        for position, field in enumerate(fields):
            body[field] = _field(position, f"Alias for field number {position}")
        return type(name, (_RecordTuple,), body)


class _NamedRecordBase(metaclass=_NamedRecordMeta):
    """The class a record's body names as its base (see the module docstring)."""


if TYPE_CHECKING:
    from typing import NamedTuple as NamedRecord
else:
    NamedRecord = _NamedRecordBase

__all__ = ["NamedRecord"]
