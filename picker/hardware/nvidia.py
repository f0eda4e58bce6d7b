"""NVIDIA GPUs through NVML (the nvidia-ml-py package, imported as `pynvml`).

Every call can fail on its own (no library, driver not loaded, no permission, a
GPU lost mid-query): a failed field becomes None with a warning, a failed device
is skipped with a warning, and the probe goes on.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

from picker.hardware.model import GpuInfo

_NVML_REASONS = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "the NVIDIA driver library (libnvidia-ml) is not installed",
    "NVML_ERROR_DRIVER_NOT_LOADED": "the NVIDIA driver is not loaded",
    "NVML_ERROR_NO_PERMISSION": "no permission to query the GPU (check /dev/nvidia* access)",
    "NVML_ERROR_GPU_IS_LOST": "the GPU fell off the bus or stopped answering",
    "NVML_ERROR_NOT_SUPPORTED": "not supported by this GPU or driver",
    "NVML_ERROR_UNINITIALIZED": "NVML is not initialised",
    "NVML_ERROR_TIMEOUT": "the driver timed out",
}


def _reason(pynvml: ModuleType, error: Exception) -> str:
    code = getattr(error, "value", None)
    for constant, reason in _NVML_REASONS.items():
        if code is not None and getattr(pynvml, constant, object()) == code:
            return reason
    return str(error) or type(error).__name__


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _bytes_or_none(value: Any) -> int | None:
    """A count NVML gave, or None when a broken driver or binding gave something else."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number >= 0 else None


def _capability(value: Any) -> str | None:
    try:
        major, minor = (int(part) for part in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f"{major}.{minor}"


def probe_nvidia(warnings: list[str]) -> list[GpuInfo]:
    """All NVIDIA GPUs, each separately; [] with a warning when NVML cannot be used."""
    try:
        import pynvml
    except ImportError:
        warnings.append("NVIDIA: the nvidia-ml-py package is not installed; NVIDIA GPUs not probed")
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        warnings.append(f"NVIDIA: not available: {_reason(pynvml, error)}")
        return []
    try:
        return _devices(pynvml, warnings)
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def _devices(pynvml: ModuleType, warnings: list[str]) -> list[GpuInfo]:
    def field(what: str, index: int | None, call: Any, *call_args: Any) -> Any:
        try:
            return call(*call_args)
        except pynvml.NVMLError as error:
            where = "NVIDIA" if index is None else f"NVIDIA GPU {index}"
            warnings.append(f"{where}: {what} not available: {_reason(pynvml, error)}")
            return None

    driver = field("driver version", None, pynvml.nvmlSystemGetDriverVersion)
    count = field("device count", None, pynvml.nvmlDeviceGetCount)
    gpus: list[GpuInfo] = []
    for index in range(count or 0):
        handle = field("device handle", index, pynvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            continue
        name = field("name", index, pynvml.nvmlDeviceGetName, handle)
        memory = field("memory", index, pynvml.nvmlDeviceGetMemoryInfo, handle)
        capability = field("compute capability", index,
                           pynvml.nvmlDeviceGetCudaComputeCapability, handle)
        pci = field("PCI bus id", index, pynvml.nvmlDeviceGetPciInfo, handle)
        power_milliwatts = field("power limit", index,
                                 pynvml.nvmlDeviceGetPowerManagementLimit, handle)
        power = _bytes_or_none(power_milliwatts)
        bus_id = getattr(pci, "busId", None)
        gpus.append(
            GpuInfo(
                index=len(gpus),
                vendor="nvidia",
                name=_text(name) if name is not None else None,
                memory_kind="dedicated",
                total_bytes=_bytes_or_none(getattr(memory, "total", None)),
                free_bytes=_bytes_or_none(getattr(memory, "free", None)),
                driver_version=_text(driver) if driver is not None else None,
                compute_capability=_capability(capability),
                pci_bus_id=_text(bus_id) if bus_id is not None else None,
                power_limit_watts=power / 1000 if power else None,
                source="NVML (nvidia-ml-py)",
            )
        )
    return gpus
