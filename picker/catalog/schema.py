"""A small declarative checker for catalog tables: keys, types, required fields.

Every problem is collected with the file and entry it belongs to, so one run
reports all of them instead of stopping at the first.
"""

from collections.abc import Mapping
from typing import Any

from picker.errors import PickerError
from picker.namedrecord import NamedRecord


class CatalogError(PickerError):
    """The catalog (shipped or user-added) does not validate."""

    code = "catalog_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(
            f"invalid catalog: {problems[0]}{more}; fix the entry or remove the file"
        )


def _accepted(kind: type | tuple[type, ...]) -> frozenset[type]:
    """Exact runtime types accepted for `kind` (an int is a valid float; a bool is no int)."""
    kinds = set(kind if isinstance(kind, tuple) else (kind,))
    if float in kinds:
        kinds.add(int)
    return frozenset(kinds)


class Field(NamedRecord):
    kind: type | tuple[type, ...]
    required: bool = False
    item: type | None = None  # element type for lists
    accepted: frozenset[type] = frozenset()
    item_accepted: frozenset[type] = frozenset()


def req(kind: type | tuple[type, ...], item: type | None = None) -> Field:
    return Field(kind, True, item, _accepted(kind), _accepted(item) if item else frozenset())


def opt(kind: type | tuple[type, ...], item: type | None = None) -> Field:
    return Field(kind, False, item, _accepted(kind), _accepted(item) if item else frozenset())


def has_required(good: Mapping[str, object], spec: dict[str, Field]) -> bool:
    """Whether `check` kept every required key (a wrong type drops one: build nothing then)."""
    return all(key in good for key, field in spec.items() if field.required)


_TYPE_NAMES = {  # by name: datetime is not imported until the catalog must be parsed
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
    "list": "list",
    "dict": "table",
    "date": "date (YYYY-MM-DD)",
}


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_TYPE_NAMES.get(k.__name__, k.__name__) for k in kinds)


class Problems:
    """Collects located problems; `raise_if_any` turns them into one CatalogError."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise CatalogError(self.items)


def check(table: object, spec: dict[str, Field], where: str, problems: Problems) -> dict[str, Any]:
    """Validate one table against `spec`; returns only the well-typed keys."""
    if type(table) is not dict:
        problems.add(where, f"expected a table, got {type(table).__name__}")
        return {}
    good: dict[str, Any] = {}
    for key in table:
        if key not in spec:
            known = ", ".join(sorted(spec))
            problems.add(where, f"unknown key {key!r} (known keys: {known})")
    for key, field in spec.items():
        if key not in table:
            if field.required:
                problems.add(where, f"missing required key {key!r}")
            continue
        value = table[key]
        if type(value) not in field.accepted:
            problems.add(where, f"{key!r} must be {_type_name(field.kind)}, got {value!r}")
            continue
        if field.item is not None and type(value) is list:
            bad = [v for v in value if type(v) not in field.item_accepted]
            if bad:
                problems.add(
                    where, f"{key!r} items must be {_type_name(field.item)}, got {bad[0]!r}"
                )
                continue
        good[key] = value
    return good
