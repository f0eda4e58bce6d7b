"""Immutable readings of the hardware, with units in their names and the source of each value.

NamedTuples rather than frozen dataclasses: every `picker --json` imports this module,
and a frozen dataclass costs about 1 ms to create (and `dataclasses` pulls in
`inspect`). Change one with `._replace(...)`; `sources` defaults are never mutated.
"""

from typing import Literal

from picker.namedrecord import NamedRecord

GpuVendor = Literal["nvidia", "amd", "intel", "apple", "unknown"]
# dedicated: its own VRAM; unified: Apple Silicon, one pool shared with the CPU;
# shared: an integrated GPU that borrows system RAM (not VRAM).
MemoryKind = Literal["dedicated", "unified", "shared"]

_NO_SOURCES: dict[str, str] = {}  # the shared default: replaced, never written to


class CpuInfo(NamedRecord):
    name: str | None
    architecture: str
    physical_cores: int | None
    logical_cores: int | None
    features: tuple[str, ...]  # instruction sets llama.cpp cares about
    # Threads llama.cpp will use: llama-cpp-python's default (logical cores // 2) unless overridden.
    inference_threads: int | None = None
    sources: dict[str, str] = _NO_SOURCES


class MemoryInfo(NamedRecord):
    total_bytes: int | None
    available_bytes: int | None
    swap_total_bytes: int | None
    swap_free_bytes: int | None
    sources: dict[str, str] = _NO_SOURCES
    # Peak bandwidth of the memory system when stated (what-if --memory-bandwidth or
    # channels x MT/s); None: this machine's copy probe is used. Source in sources["bandwidth"].
    bandwidth_bytes_per_second: float | None = None
    # This machine's peak from its firmware's SMBIOS table (channels x MT/s x bus width), shown
    # beside the measured copy bandwidth; its source in sources["peak_bandwidth"]. None: unread.
    peak_bandwidth_bytes_per_second: float | None = None


class DiskInfo(NamedRecord):
    path: str  # where models will be stored
    free_bytes: int | None
    total_bytes: int | None
    source: str = "statvfs"


class GpuInfo(NamedRecord):
    index: int  # type: ignore[assignment]  # shadows tuple.index(), as a field may
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


def _with_copied_sources(reading: CpuInfo | MemoryInfo) -> dict[str, object]:
    return {**reading._asdict(), "sources": dict(reading.sources)}


class HardwareSnapshot(NamedRecord):
    cpu: CpuInfo
    memory: MemoryInfo
    disk: DiskInfo | None
    gpus: tuple[GpuInfo, ...]
    os: str
    warnings: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()  # fields replaced by what-if flags
    probe_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Nested plain dicts (as `dataclasses.asdict` gave), in field order."""
        return {
            "cpu": _with_copied_sources(self.cpu),
            "memory": _with_copied_sources(self.memory),
            "disk": None if self.disk is None else self.disk._asdict(),
            "gpus": tuple(gpu._asdict() for gpu in self.gpus),
            "os": self.os,
            "warnings": self.warnings,
            "overridden": self.overridden,
            "probe_seconds": self.probe_seconds,
        }

    @property
    def gpu_free_bytes(self) -> list[int]:
        """Free memory per GPU that has dedicated or unified memory, in index order."""
        return [gpu.free_bytes or 0 for gpu in self.gpus if gpu.memory_kind != "shared"]
