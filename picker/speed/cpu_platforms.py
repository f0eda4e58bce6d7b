"""Memory systems of the CPU platforms people plan local models on, for a what-if `--cpu NAME`.

A CPU's generation speed is set by its memory channels x transfer rate, which its platform
fixes (the same EPYC 9004 has twelve DDR5-4800 channels whichever SKU it is). A model
number is matched by pattern to its platform; each row names the page its channels and
speed were read from. The rate is the platform's supported maximum with one module per
channel: a machine with slower or fewer modules is stated with --memory-channels and
--memory-mts instead. Platforms sold with either DDR4 or DDR5 boards (Intel Core 12th-14th
gen) are not in the table: the name does not say which.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class CpuPlatform(NamedTuple):
    """A platform's memory system and where it was read."""

    name: str
    channels: int
    mts: int
    memory: str
    source: str


_TOMS_GENOA = ("https://www.tomshardware.com/uk/news/amd-confirms-12-ddr5-memory-channels-on-genoa; "
               "https://tech2sports.com/amd-epyc-genoa-2")
_SWECLOCKERS = "https://www.sweclockers.com/nyhet/35696-intel-kontrar-amd-ryzen-threadripper-med-sapphire-rapids-och-56-karnor"
_WWT = "https://www.wwt.com/article/memory-population-guidelines-for-intel-4th-gen-xeon-scalable-processors"

# (pattern over the lower-cased name, platform)
_PLATFORMS: tuple[tuple[str, CpuPlatform], ...] = (
    (r"\bepyc\s*9\d\d4\b", CpuPlatform(
        "AMD EPYC 9004 (Genoa)", 12, 4800, "DDR5", f"12 DDR5-4800 channels ({_TOMS_GENOA})")),
    (r"\bepyc\s*7\d\d[23]\b", CpuPlatform(
        "AMD EPYC 7002/7003 (Rome/Milan)", 8, 3200, "DDR4",
        f"8 DDR4-3200 channels, 204.8 GB/s ({_TOMS_GENOA})")),
    (r"\bw[3579]-34\d\d", CpuPlatform(
        "Intel Xeon W-3400", 8, 4800, "DDR5", f"8 DDR5-4800 channels, 307.2 GB/s ({_SWECLOCKERS})")),
    (r"\bw[3579]-24\d\d", CpuPlatform(
        "Intel Xeon W-2400", 4, 4800, "DDR5", f"4 DDR5-4800 channels, 153.6 GB/s ({_SWECLOCKERS})")),
    (r"\b(?:platinum|gold)\s*[5-9]4\d\d", CpuPlatform(
        "Intel Xeon Scalable 4th gen (Sapphire Rapids)", 8, 4800, "DDR5",
        f"8 channels, up to DDR5-4800 on the SKUs that support it ({_WWT})")),
    (r"\b(?:platinum|gold|silver)\s*[4-9]3\d\d", CpuPlatform(
        "Intel Xeon Scalable 3rd gen (Ice Lake)", 8, 3200, "DDR4",
        f"8 DDR4-3200 channels ({_WWT})")),
    (r"\bryzen\s*[3579]\s*(?:pro\s*)?7\d\d0(?:x3d|x)?\b", CpuPlatform(
        "AMD Ryzen 7000 desktop (AM5)", 2, 5200, "DDR5",
        "dual-channel DDR5-5200 (https://www.hardwaretimes.com/amd-ryzen-7000-cpus-to-support-"
        "ddr5-5200-memory-out-of-the-box-2-channels-per-dimm/; https://hwsetup.it/news/reader."
        "php?objid=33228)")),
)


def lookup_platform(name: str) -> CpuPlatform | None:
    """The platform a CPU's model name belongs to, or None when the table does not know it."""
    wanted = " ".join(name.lower().split())
    for pattern, platform in _PLATFORMS:
        if re.search(pattern, wanted):
            return platform
    return None


def known_platforms() -> tuple[CpuPlatform, ...]:
    return tuple(platform for _, platform in _PLATFORMS)
