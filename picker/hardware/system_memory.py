"""RAM, swap and free disk space where models will be stored."""

from __future__ import annotations

import os
from pathlib import Path

from picker.hardware import osname
from picker.hardware.linux_proc import read_meminfo
from picker.hardware.model import DiskInfo, MemoryInfo


def probe_memory(warnings: list[str], root: Path = Path("/")) -> MemoryInfo:
    """RAM and swap: /proc/meminfo on Linux (what psutil reads there), psutil elsewhere."""
    meminfo = read_meminfo(root) if osname.system() == "Linux" else None
    if meminfo is not None:
        source = str(root / "proc" / "meminfo")
        return MemoryInfo(*meminfo, dict.fromkeys(
            ("total_bytes", "available_bytes", "swap_total_bytes", "swap_free_bytes"), source))
    import psutil

    total = available = swap_total = swap_free = None
    sources: dict[str, str] = {}
    try:
        virtual = psutil.virtual_memory()
        total, available = int(virtual.total), int(virtual.available)
        sources["total_bytes"] = sources["available_bytes"] = "psutil.virtual_memory"
    except (OSError, RuntimeError) as error:
        warnings.append(f"RAM: not available ({error})")
    try:
        swap = psutil.swap_memory()
        swap_total, swap_free = int(swap.total), int(swap.free)
        sources["swap_total_bytes"] = sources["swap_free_bytes"] = "psutil.swap_memory"
    except (OSError, RuntimeError) as error:
        warnings.append(f"swap: not available ({error})")
    return MemoryInfo(total, available, swap_total, swap_free, sources)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
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
