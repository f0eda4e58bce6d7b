"""RAM, swap and free disk space where models will be stored."""

from __future__ import annotations

import os
from pathlib import Path

from picker.hardware import osname
from picker.hardware.linux_proc import read_meminfo
from picker.hardware.model import DiskInfo, MemoryInfo


def probe_memory(warnings: list[str], root: Path = Path("/")) -> MemoryInfo:
    """RAM, swap and, where the firmware's table is readable, the memory system's peak."""
    memory = _ram_and_swap(warnings, root)
    dmi_table = root / "sys" / "firmware" / "dmi" / "tables" / "DMI"
    if osname.system() == "Linux" and os.access(dmi_table, os.R_OK):  # root only
        from picker.hardware.dmi_memory import read_dmi_memory

        peak = read_dmi_memory(warnings, root)
        if peak is not None:
            memory = memory._replace(peak_bandwidth_bytes_per_second=peak.bytes_per_second,
                                     sources={**memory.sources, "peak_bandwidth": peak.description})
    return memory


def _ram_and_swap(warnings: list[str], root: Path) -> MemoryInfo:
    """RAM and swap: /proc/meminfo on Linux (what psutil reads there), psutil elsewhere."""
    meminfo = read_meminfo(root) if osname.system() == "Linux" else None
    if meminfo is not None:
        source = str(root / "proc" / "meminfo")
        return MemoryInfo(*meminfo, dict.fromkeys(
            ("total_bytes", "available_bytes", "swap_total_bytes", "swap_free_bytes"), source))
    import psutil

    total = available = swap_total = swap_free = None
    sources: dict[str, str] = {}
    # psutil parses the same files and raises whatever their text makes it raise (ValueError,
    # KeyError, IndexError on a garbled /proc/meminfo): any failure is a warning.
    try:
        virtual = psutil.virtual_memory()
        total, available = _counts(virtual.total, virtual.available)
        sources["total_bytes"] = sources["available_bytes"] = "psutil.virtual_memory"
    except Exception as error:
        warnings.append(f"RAM: not available ({_reason(error)})")
    try:
        swap = psutil.swap_memory()
        swap_total, swap_free = _counts(swap.total, swap.free)
        sources["swap_total_bytes"] = sources["swap_free_bytes"] = "psutil.swap_memory"
    except Exception as error:
        warnings.append(f"swap: not available ({_reason(error)})")
    return MemoryInfo(total, available, swap_total, swap_free, sources)


def _counts(total: object, part: object) -> tuple[int, int]:
    """Two byte counts psutil read: whole, not negative, the part within the whole."""
    if type(total) is not int or type(part) is not int or not 0 <= part <= total:
        raise ValueError(f"implausible figures {total!r} and {part!r}")
    return total, part


def _reason(error: Exception) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:200]


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        try:
            os.stat(candidate)
        except (OSError, ValueError):  # missing, or a folder on the way this user cannot enter
            continue
        return candidate
    return Path(path.anchor or "/")


def probe_disk(models_dir: Path, warnings: list[str]) -> DiskInfo | None:
    """Free space on the filesystem that will hold downloaded models (the folder need not exist yet).

    Free means free to this user (statvfs's f_bavail, as `df` and psutil count it)."""
    measured = _nearest_existing(models_dir)
    try:
        if hasattr(os, "statvfs"):
            stats = os.statvfs(measured)
            free, total = stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize
            source = "statvfs"
        else:  # Windows
            import shutil

            total, _, free = shutil.disk_usage(measured)
            source = "shutil.disk_usage"
    except OSError as error:
        warnings.append(f"disk: free space at {measured} not available ({error.strerror})")
        return None
    return DiskInfo(path=str(models_dir), free_bytes=int(free), total_bytes=int(total),
                    source=source)
