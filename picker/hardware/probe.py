"""The whole probe: CPU, RAM, disk and every GPU, in one immutable snapshot that never raises.

Vendor probes run in a worker thread with a deadline, so a wedged driver makes a
warning, not a hang.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from picker.hardware import osname
from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.overrides import HardwareOverrides, apply_overrides

GPU_PROBE_TIMEOUT_SECONDS = 5.0
_Reading = TypeVar("_Reading")


def nvidia_driver_absent(root: Path) -> bool:
    """True on Linux (not WSL, whose driver lives in Windows) when no NVIDIA kernel driver is
    loaded: NVML cannot answer then, so picker does not pay for importing it."""
    if osname.system() != "Linux" or "microsoft" in osname.release().lower():
        return False
    return not ((root / "proc" / "driver" / "nvidia").exists()
                or (root / "dev" / "nvidiactl").exists())


def _probe_gpus(warnings: list[str], ram_bytes: int | None, available_bytes: int | None,
                sysfs_root: Path) -> list[GpuInfo]:
    from picker.hardware.sysfs_gpus import probe_sysfs_gpus

    gpus: list[GpuInfo] = []
    if osname.system() == "Darwin":
        if osname.machine() == "arm64":
            from picker.hardware.apple import probe_apple

            gpus += probe_apple(ram_bytes, available_bytes, warnings)
        return gpus
    if nvidia_driver_absent(sysfs_root):
        warnings.append("NVIDIA: not available: no NVIDIA kernel driver is loaded "
                        "(/proc/driver/nvidia and /dev/nvidiactl are missing)")
    else:
        from picker.hardware.nvidia import probe_nvidia

        gpus += probe_nvidia(warnings)
    if osname.system() == "Linux":
        gpus += probe_sysfs_gpus(warnings, sysfs_root)
    return gpus


def _bounded_gpu_probe(warnings: list[str], ram_bytes: int | None, available_bytes: int | None,
                       sysfs_root: Path) -> list[GpuInfo]:
    if osname.system() == "Linux" and nvidia_driver_absent(sysfs_root):
        # Only sysfs files to read (no vendor library that could wedge): no thread needed.
        try:
            return _probe_gpus(warnings, ram_bytes, available_bytes, sysfs_root)
        except Exception as error:  # a sysfs layout we did not foresee
            warnings.append(f"GPU probe failed: {type(error).__name__}: {error}")
            return []
    import threading  # ~3 M instructions: only when a vendor library is asked

    found: list[GpuInfo] = []
    thread_warnings: list[str] = []

    def work() -> None:
        try:
            found.extend(_probe_gpus(thread_warnings, ram_bytes, available_bytes, sysfs_root))
        except Exception as error:  # a vendor library failing in a way we did not foresee
            thread_warnings.append(f"GPU probe failed: {type(error).__name__}: {error}")

    worker = threading.Thread(target=work, name="picker-gpu-probe", daemon=True)
    worker.start()
    worker.join(GPU_PROBE_TIMEOUT_SECONDS)
    if worker.is_alive():
        warnings.append(f"GPU probe did not finish within {GPU_PROBE_TIMEOUT_SECONDS:g} s "
                        "(driver not answering); GPUs not available")
        return []
    warnings.extend(thread_warnings)
    return found


def _guarded(what: str, read: Callable[[], _Reading], warnings: list[str], fallback: _Reading) -> _Reading:
    """`read()`, or `fallback` with a warning: a reading that fails in a way its reader did not
    foresee costs that reading, never the probe."""
    try:
        return read()
    except Exception as error:
        warnings.append(f"{what}: not available ({type(error).__name__}: {' '.join(str(error).split())})")
        return fallback


def probe_hardware(overrides: HardwareOverrides | None = None, *,
                   sysfs_root: Path = Path("/")) -> HardwareSnapshot:
    """Read this machine, then apply what-if overrides. Never raises for a failed reading."""
    from picker.hardware.cpu import probe_cpu
    from picker.hardware.system_memory import probe_disk, probe_memory
    from picker.paths import models_download_dir

    started = time.perf_counter()
    warnings: list[str] = []
    cpu = _guarded("CPU", lambda: probe_cpu(warnings, sysfs_root), warnings,
                   CpuInfo(None, osname.machine() or "unknown", None, None, ()))
    logical = cpu.logical_cores or os.cpu_count()
    if logical:  # llama-cpp-python's own default: n_threads = max(cpu_count // 2, 1)
        cpu = cpu._replace(inference_threads=max(logical // 2, 1),
                      sources={**cpu.sources, "inference_threads": "llama-cpp-python default"})
    memory = _guarded("RAM", lambda: probe_memory(warnings, sysfs_root), warnings,
                      MemoryInfo(None, None, None, None))
    disk = _guarded("disk", lambda: probe_disk(models_download_dir(), warnings), warnings, None)
    gpus = _bounded_gpu_probe(warnings, memory.total_bytes, memory.available_bytes, sysfs_root)
    if not gpus:
        warnings.append("no GPU found: models will run on the CPU")
    gpus = [gpu._replace(index=i) for i, gpu in enumerate(gpus)]
    snapshot = HardwareSnapshot(
        cpu=cpu,
        memory=memory,
        disk=disk,
        gpus=tuple(gpus),
        os=f"{osname.system()} {osname.release()}".strip(),
        warnings=tuple(warnings),
        probe_seconds=round(time.perf_counter() - started, 4),
    )
    return apply_overrides(snapshot, overrides or HardwareOverrides())
