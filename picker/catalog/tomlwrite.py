"""Write catalog entries as TOML in the same layout as the hand-written family files.

Only what catalog entries contain: text, numbers, booleans, dates, lists of those and
lists of flat tables (inline). Sub-tables become `[models.<name>]` sections.
"""

from __future__ import annotations

import datetime as dt
import json
import math

from picker.safetext import escape_json_text


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to the catalog")
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        # A valid TOML basic string: json escapes C0; TOML also forbids a raw DEL (a GGUF's
        # name may hold one), which escape_json_text writes as \u007f with C1 and bidi characters.
        return escape_json_text(json.dumps(value, ensure_ascii=False))
    raise TypeError(f"cannot write {type(value).__name__} to the catalog")


def _value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return "[\n" + "".join(f"  {_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return _scalar(value)


def model_toml(entry: dict[str, object]) -> str:
    """One `[[models]]` block (keys first, then the sub-tables)."""
    lines = ["[[models]]"]
    tables = {k: v for k, v in entry.items() if isinstance(v, dict)}
    for key, value in entry.items():
        if key not in tables:
            lines.append(f"{key} = {_value(value)}")
    for name, table in tables.items():
        lines.append(f"[models.{name}]")
        lines.extend(f"{key} = {_value(value)}" for key, value in table.items())
    return "\n".join(lines) + "\n"


def family_header(family: str, title: str) -> str:
    return f"family = {_scalar(family)}\ntitle = {_scalar(title)}\n"
