"""Immutable readings of the hardware, with units in their names and the source of each value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

GpuVendor = Literal["nvidia", "amd", "intel", "apple", "unknown"]
# dedicated: its own VRAM; unified: Apple Silicon, one pool shared with the CPU;
# shared: an integrated GPU that borrows system RAM (not VRAM).
MemoryKind = Literal["dedicated", "unified", "shared"]


@dataclass(frozen=True)
class CpuInfo:
    name: str | None
    architecture: str
    physical_cores: int | None
    logical_cores: int | None
    features: tuple[str, ...]  # instruction sets llama.cpp cares about
    # Threads llama.cpp will use: llama-cpp-python's default (logical cores // 2) unless overridden.
    inference_threads: int | None = None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MemoryInfo:
    total_bytes: int | None
    available_bytes: int | None
    swap_total_bytes: int | None
    swap_free_bytes: int | None
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DiskInfo:
    path: str  # where models will be stored
    free_bytes: int | None
    total_bytes: int | None
    source: str = "psutil.disk_usage"


@dataclass(frozen=True)
class GpuInfo:
    index: int
    vendor: GpuVendor
    name: str | None
    memory_kind: MemoryKind
    total_bytes: int | None
    free_bytes: int | None
    driver_version: str | None = None
    compute_capability: str | None = None  # NVIDIA only, e.g. "8.9"
    pci_bus_id: str | None = None
    power_limit_watts: float | None = None
    source: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HardwareSnapshot:
    cpu: CpuInfo
    memory: MemoryInfo
    disk: DiskInfo | None
    gpus: tuple[GpuInfo, ...]
    os: str
    warnings: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()  # fields replaced by what-if flags
    probe_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def gpu_free_bytes(self) -> list[int]:
        """Free memory per GPU that has dedicated or unified memory, in index order."""
        return [gpu.free_bytes or 0 for gpu in self.gpus if gpu.memory_kind != "shared"]
