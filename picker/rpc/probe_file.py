"""Read a `picker probe --json` document written on another machine back into a snapshot.

The file comes from elsewhere, so every field is checked for its type; anything
missing or wrong is a one-line error that names the file and says how to make a
good one. Fields the planner does not need (disk, sources, notes) may be absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast, get_args

from picker.errors import UsageError
from picker.hardware.model import (
    CpuInfo,
    GpuInfo,
    GpuVendor,
    HardwareSnapshot,
    MemoryInfo,
    MemoryKind,
)

# A probe document is a few KiB; anything far larger is not one.
LARGEST_PROBE_FILE_BYTES = 1024 * 1024
_VENDORS: tuple[str, ...] = get_args(GpuVendor)
_MEMORY_KINDS: tuple[str, ...] = get_args(MemoryKind)


class _Bad(Exception):
    """A field that is missing or of the wrong type (its path in the document)."""


def _remake(path: Path) -> str:
    return f"run `picker probe --json > {path.name}` on that machine and copy the file here"


def _field(record: dict[str, object], key: str, where: str) -> object:
    if key not in record:
        raise _Bad(f"{where}.{key} is missing")
    return record[key]


def _count(value: object, where: str, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(f"{where} is not a whole number of 0 or more")
    return value


def _text(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _Bad(f"{where} is not text")


def _record(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Bad(f"{where} is not an object")
    return value


def _cpu(record: dict[str, object]) -> CpuInfo:
    features = record.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise _Bad("hardware.cpu.features is not a list of names")
    return CpuInfo(
        name=_text(record.get("name"), "hardware.cpu.name"),
        architecture=_text(record.get("architecture"), "hardware.cpu.architecture") or "unknown",
        physical_cores=_count(record.get("physical_cores"), "hardware.cpu.physical_cores"),
        logical_cores=_count(record.get("logical_cores"), "hardware.cpu.logical_cores"),
        features=tuple(features),
        inference_threads=_count(record.get("inference_threads"),
                                 "hardware.cpu.inference_threads"),
    )


def _memory(record: dict[str, object]) -> MemoryInfo:
    total = _count(_field(record, "total_bytes", "hardware.memory"), "hardware.memory.total_bytes")
    available = _count(_field(record, "available_bytes", "hardware.memory"),
                       "hardware.memory.available_bytes")
    if available is None and total is None:
        raise _Bad("hardware.memory has neither available_bytes nor total_bytes")
    return MemoryInfo(
        total_bytes=total, available_bytes=available if available is not None else total,
        swap_total_bytes=_count(record.get("swap_total_bytes"), "hardware.memory.swap_total_bytes"),
        swap_free_bytes=_count(record.get("swap_free_bytes"), "hardware.memory.swap_free_bytes"),
    )


def _gpu(record: dict[str, object], position: int) -> GpuInfo:
    where = f"hardware.gpus[{position}]"
    vendor = _field(record, "vendor", where)
    if vendor not in _VENDORS:
        raise _Bad(f"{where}.vendor is not one of {', '.join(_VENDORS)}")
    kind = _field(record, "memory_kind", where)
    if kind not in _MEMORY_KINDS:
        raise _Bad(f"{where}.memory_kind is not one of {', '.join(_MEMORY_KINDS)}")
    index = _count(record.get("index", position), f"{where}.index", optional=False)
    return GpuInfo(
        index=index or 0, vendor=cast(GpuVendor, vendor),  # one of _VENDORS, checked above
        name=_text(record.get("name"), f"{where}.name"), memory_kind=cast(MemoryKind, kind),
        total_bytes=_count(record.get("total_bytes"), f"{where}.total_bytes"),
        free_bytes=_count(_field(record, "free_bytes", where), f"{where}.free_bytes"),
        source=_text(record.get("source"), f"{where}.source") or "",
    )


def snapshot_from_document(document: object) -> HardwareSnapshot:
    """The snapshot in a probe document ({"hardware": ...}, or the bare hardware object)."""
    top = _record(document, "the document")
    hardware = _record(top["hardware"], "hardware") if "hardware" in top else top
    gpus = hardware.get("gpus", [])
    if not isinstance(gpus, list):
        raise _Bad("hardware.gpus is not a list")
    return HardwareSnapshot(
        cpu=_cpu(_record(_field(hardware, "cpu", "hardware"), "hardware.cpu")),
        memory=_memory(_record(_field(hardware, "memory", "hardware"), "hardware.memory")),
        disk=None,
        gpus=tuple(_gpu(_record(gpu, f"hardware.gpus[{i}]"), i) for i, gpu in enumerate(gpus)),
        os=_text(hardware.get("os"), "hardware.os") or "unknown",
    )


def read_probe_file(path: Path) -> HardwareSnapshot:
    """The machine a probe file describes; UsageError (exit 2) naming the file if it cannot."""
    try:
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise UsageError(f"probe file {path} {what}; {_remake(path)}")
        if path.stat().st_size > LARGEST_PROBE_FILE_BYTES:
            raise UsageError(f"probe file {path} is over 1 MiB, not a probe document; "
                             f"{_remake(path)}")
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"probe file {path} cannot be read ({error.strerror}); "
                         f"{_remake(path)}") from None
    except UnicodeDecodeError:
        raise UsageError(f"probe file {path} is not UTF-8 text; {_remake(path)}") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UsageError(f"probe file {path} is not JSON (line {getattr(error, 'lineno', '?')}): "
                         f"{_remake(path)}") from None
    try:
        return snapshot_from_document(document)
    except _Bad as error:
        raise UsageError(f"probe file {path} is not a picker probe document ({error}); "
                         f"{_remake(path)}") from None
