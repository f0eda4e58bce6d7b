"""The probe as text for people (the JSON is the snapshot's own dict)."""

from __future__ import annotations

from picker.hardware.model import HardwareSnapshot
from picker.units import format_size


def render_snapshot(snapshot: HardwareSnapshot) -> str:
    cpu, memory = snapshot.cpu, snapshot.memory
    lines = [
        f"CPU    {cpu.name or 'unknown CPU'} ({cpu.architecture}), "
        f"{cpu.physical_cores or '?'} cores / {cpu.logical_cores or '?'} threads, "
        f"{cpu.inference_threads or '?'} for inference",
        f"       features: {', '.join(cpu.features) or 'not available'}",
        f"RAM    {format_size(memory.available_bytes)} available of {format_size(memory.total_bytes)}"
        f"; swap {format_size(memory.swap_free_bytes)} free of {format_size(memory.swap_total_bytes)}",
    ]
    if snapshot.disk is not None:
        lines.append(f"Disk   {format_size(snapshot.disk.free_bytes)} free at {snapshot.disk.path}")
    if not snapshot.gpus:
        lines.append("GPU    none")
    for gpu in snapshot.gpus:
        kind = {"dedicated": "VRAM", "unified": "unified memory usable by the GPU",
                "shared": "shared system RAM"}[gpu.memory_kind]
        extra = f", compute {gpu.compute_capability}" if gpu.compute_capability else ""
        extra += f", driver {gpu.driver_version}" if gpu.driver_version else ""
        lines.append(f"GPU {gpu.index}  {gpu.name or 'unknown'} ({gpu.vendor}): "
                     f"{format_size(gpu.free_bytes)} free of {format_size(gpu.total_bytes)} {kind}"
                     f"{extra}  [{gpu.source}]")
    if snapshot.overridden:
        lines.append(f"What-if: {', '.join(snapshot.overridden)} set by you, not read")
    lines += [f"note: {warning}" for warning in snapshot.warnings]
    return "\n".join(lines)
