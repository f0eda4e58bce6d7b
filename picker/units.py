"""Sizes with units: parsed from the command line, formatted for people.

In JSON every size is an integer number of bytes under a key ending in `_bytes`;
units exist only at the edges, here.
"""

from __future__ import annotations

import re

from picker.errors import UsageError

# Compiled on first use (re keeps it), not at import: picker --json reads no size flag.
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$"
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str, flag: str = "size") -> int:
    """Parse `16G`, `12GiB`, `800M`, `1.5T`, `4096` (bytes) into bytes.

    A bare K/M/G/T means the binary unit (G = GiB), as memory is sold and as
    llama.cpp reports it; `GB` with a B is decimal, `GiB` binary.
    """
    match = re.match(_SIZE, text, re.IGNORECASE)
    if match is None:
        raise UsageError(
            f"{flag}: cannot read {text!r} as a size; use a number with a unit, e.g. 16G, 12GiB, 800M"
        )
    number, prefix, binary_marker, byte_marker = match.groups()
    power = _POWERS[prefix.lower()]
    decimal = bool(byte_marker) and not binary_marker and power > 0
    value = float(number) * ((1000 if decimal else 1024) ** power)
    if value <= 0:
        raise UsageError(f"{flag}: a size must be greater than zero, got {text!r}")
    return int(value)


def format_size(size_bytes: int | float | None) -> str:
    """`8589934592` -> `8.0 GiB`; None -> `n/a`."""
    if size_bytes is None:
        return "n/a"
    value = float(size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
