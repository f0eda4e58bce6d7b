"""RAM, swap and physical cores read straight from the Linux kernel's files.

These are the files psutil itself reads on Linux (MemTotal, MemAvailable,
SwapTotal and SwapFree in /proc/meminfo; the sibling lists under
/sys/devices/system/cpu), so the figures are the same; reading them directly
keeps psutil's import (~20 ms, an eighth of the `picker --json` budget) off the
headless path. Every function returns None when its file is missing or
unreadable (garbage, an empty file, no permission), and the caller falls back to psutil.
"""

import os
from pathlib import Path

from picker.namedrecord import NamedRecord

_KIB = 1024


class MemInfo(NamedRecord):
    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int


def read_meminfo(root: Path = Path("/")) -> MemInfo | None:
    """/proc/meminfo's totals, or None without it (or without MemAvailable, Linux < 3.14)."""
    try:
        text = (root / "proc" / "meminfo").read_text(errors="replace")
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        # ASCII digits only ('²' is a digit int() refuses), and no more than a 64-bit count has
        if fields and len(fields[0]) <= 20 and fields[0].isascii() and fields[0].isdigit():
            values[key.strip()] = int(fields[0]) * _KIB  # the kernel always writes kB
    try:
        return MemInfo(values["MemTotal"], values["MemAvailable"],
                       values.get("SwapTotal", 0), values.get("SwapFree", 0))
    except KeyError:
        return None


def physical_core_count(root: Path = Path("/")) -> int | None:
    """Distinct cores: one per distinct hardware-thread sibling list among online CPUs."""
    cpus = root / "sys" / "devices" / "system" / "cpu"
    try:
        names = [name for name in os.listdir(cpus) if name[3:].isdigit() and name.startswith("cpu")]
    except OSError:
        return None
    cores: set[str] = set()
    for name in names:
        topology = cpus / name / "topology"
        for list_name in ("core_cpus_list", "thread_siblings_list"):
            try:
                cores.add((topology / list_name).read_text(errors="replace").strip())
                break
            except OSError:
                continue
    return len(cores) or None
