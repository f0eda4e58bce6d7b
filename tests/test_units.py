from __future__ import annotations

import pytest

from picker.errors import UsageError
from picker.units import format_size, parse_size

GIB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16G", 16 * GIB),
        ("16g", 16 * GIB),
        ("12GiB", 12 * GIB),
        ("800M", 800 * 1024**2),
        ("1.5T", int(1.5 * 1024**4)),
        ("16GB", 16 * 10**9),
        ("4096", 4096),
        (" 8 GiB ", 8 * GIB),
    ],
)
def test_parse_size_accepts_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["banana", "", "G", "-4G", "0", "16X", "1e9", "16 G B"])
def test_parse_size_rejects_nonsense_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_size(text, "--ram")
    assert caught.value.message.startswith("--ram")
    assert "\n" not in caught.value.message


def test_format_size() -> None:
    assert format_size(None) == "n/a"
    assert format_size(512) == "512 B"
    assert format_size(8 * GIB) == "8.0 GiB"
    assert format_size(1536 * 1024**2) == "1.5 GiB"
