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
    if memory.peak_bandwidth_bytes_per_second is not None:
        lines.append("       memory " + memory.sources.get(
            "peak_bandwidth", f"peak {memory.peak_bandwidth_bytes_per_second / 1e9:.1f} GB/s"))
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
        lines.append(f"What-if machine: {what_if_summary(snapshot)}")
    lines += [f"note: {warning}" for warning in snapshot.warnings]
    return "\n".join(lines)


def what_if_summary(snapshot: HardwareSnapshot) -> str:
    """The assumptions of a what-if machine in words: what was set, and what it implies."""
    parts: list[str] = []
    memory = snapshot.memory
    if "memory.total_bytes" in snapshot.overridden:
        usable = memory.available_bytes or 0
        total = memory.total_bytes or 0
        parts.append(f"RAM {format_size(total)}, " + (
            "all of it free (an idle machine)" if usable >= total
            else f"{format_size(usable)} of it for the model ({format_size(total - usable)} "
            "left to the OS)"))
    if "gpus" in snapshot.overridden:
        gpus = [f"{gpu.name or 'GPU'} with {format_size(gpu.free_bytes)} "
                f"{'unified memory usable by the GPU' if gpu.memory_kind == 'unified' else 'free'}"
                for gpu in snapshot.gpus]
        parts.append("GPUs: " + "; ".join(gpus) if gpus else "no GPU")
    if "cpu.name" in snapshot.overridden:
        parts.append(f"CPU {snapshot.cpu.name}")
    if "cpu.inference_threads" in snapshot.overridden:
        parts.append(f"{snapshot.cpu.inference_threads} CPU threads")
    if memory.bandwidth_bytes_per_second is not None:
        parts.append("CPU memory bandwidth " + memory.sources.get(
            "bandwidth", f"{memory.bandwidth_bytes_per_second / 1e9:.1f} GB/s").removeprefix("what-if: "))
        parts.append("the CPU's cores and disk are this machine's")
    else:
        parts.append("the CPU and disk are this machine's")
    return "; ".join(parts) + " (set by you, not read)"
