"""The network between the hosts: bandwidth and round-trip time, named or given.

`--link 1gbit` (the default: plain gigabit Ethernet), `2.5gbit`, `10gbit`, `25gbit`,
`100gbit`, `wifi`, `thunderbolt`, `loopback`, or any `<N>gbit` / `<N>mbit`. Round
trips are assumptions (typical of a quiet LAN), stated with every estimate.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from picker.errors import UsageError


class Link(NamedTuple):
    name: str
    bytes_per_second: float
    round_trip_seconds: float
    source: str


_NAMED = {
    "wifi": Link("wifi", 40e6, 3e-3, "Wi-Fi: assumed 320 Mbit/s usable, 3 ms round trip"),
    "thunderbolt": Link("thunderbolt", 2.5e9, 0.1e-3,
                        "IP over Thunderbolt: assumed 20 Gbit/s usable, 0.1 ms round trip"),
    "loopback": Link("loopback", 5e9, 0.03e-3,
                     "loopback (one machine): assumed 40 Gbit/s, 0.03 ms round trip"),
}
_RATE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>g|m)(?:bit|b|bps)?(?:/s)?$")
DEFAULT_LINK = "1gbit"


def _round_trip_seconds(bits_per_second: float) -> float:
    """Assumed round trip of wired Ethernet at this rate (switch and stack, not distance)."""
    return 0.2e-3 if bits_per_second <= 1e9 else 0.1e-3


def parse_link(text: str) -> Link:
    key = text.strip().lower()
    if key in _NAMED:
        return _NAMED[key]
    match = _RATE.match(key)
    if match is None or float(match["value"]) <= 0:
        raise UsageError(f"--link: cannot read {text!r}; give e.g. 1gbit, 2.5gbit, 10gbit, "
                         "100mbit, wifi, thunderbolt or loopback")
    bits = float(match["value"]) * (1e9 if match["unit"] == "g" else 1e6)
    if bits > 1e12:
        raise UsageError(f"--link: {text!r} is faster than any network (over 1 Tbit/s)")
    round_trip = _round_trip_seconds(bits)
    return Link(key, bits / 8, round_trip,
                f"{match['value']} {'G' if match['unit'] == 'g' else 'M'}bit/s Ethernet: full "
                f"rate assumed, {round_trip * 1e3:.1f} ms round trip assumed")
