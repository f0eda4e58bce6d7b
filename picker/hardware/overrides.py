"""What-if overrides: plan for a machine other than this one.

Each overridden value is listed in the snapshot's `overridden`, so nothing a
person typed is ever mistaken for something the probe read.
"""

import argparse
from typing import NamedTuple

from picker.errors import UsageError
from picker.hardware.model import GpuInfo, HardwareSnapshot

WHAT_IF = "what-if override"


class HardwareOverrides(NamedTuple):
    ram_bytes: int | None = None
    vram_bytes: tuple[int, ...] = ()
    gpu_name: str | None = None
    unified_memory: bool = False
    cpu_threads: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "HardwareOverrides":
        """Read the flags added by `commands.common.add_hardware_overrides`."""
        return cls(
            ram_bytes=getattr(args, "ram", None),
            vram_bytes=tuple(getattr(args, "vram", ()) or ()),
            gpu_name=getattr(args, "gpu", None),
            unified_memory=bool(getattr(args, "unified_memory", False)),
            cpu_threads=getattr(args, "cpu_threads", None),
        )

    @property
    def any(self) -> bool:
        return self != HardwareOverrides()


def apply_overrides(snapshot: HardwareSnapshot, overrides: HardwareOverrides) -> HardwareSnapshot:
    """A new snapshot with the what-if values in place and marked as such."""
    if not overrides.any:
        return snapshot
    overridden: list[str] = list(snapshot.overridden)
    memory, cpu, gpus = snapshot.memory, snapshot.cpu, list(snapshot.gpus)

    if overrides.ram_bytes is not None:
        sources = {**memory.sources, "total_bytes": WHAT_IF, "available_bytes": WHAT_IF}
        # A planned machine is taken as idle: all of its RAM is available.
        memory = memory._replace(total_bytes=overrides.ram_bytes,
                         available_bytes=overrides.ram_bytes, sources=sources)
        overridden += ["memory.total_bytes", "memory.available_bytes"]

    if overrides.cpu_threads is not None:
        cpu = cpu._replace(inference_threads=overrides.cpu_threads,
                      sources={**cpu.sources, "inference_threads": WHAT_IF})
        overridden.append("cpu.inference_threads")

    if overrides.unified_memory:
        if memory.total_bytes is None:
            raise UsageError("--unified-memory needs the RAM size; add --ram SIZE, e.g. --ram 16G")
        limit = overrides.vram_bytes[0] if overrides.vram_bytes else None
        from picker.hardware.apple import unified_gpu

        gpus = [unified_gpu(overrides.gpu_name or "Apple Silicon (what-if)", memory.total_bytes,
                            memory.available_bytes, limit, WHAT_IF)]
        overridden.append("gpus")
    elif overrides.vram_bytes:
        gpus = [_what_if_gpu(gpus[i] if i < len(gpus) else None, size, overrides.gpu_name)
                for i, size in enumerate(overrides.vram_bytes)]
        overridden.append("gpus")
    elif overrides.gpu_name is not None:
        if not gpus:
            raise UsageError(
                "--gpu needs --vram to say how much memory it has, e.g. --gpu 'RTX 4090' --vram 24G"
            )
        gpus = [gpu._replace(name=overrides.gpu_name, source=WHAT_IF) for gpu in gpus]
        overridden.append("gpus")

    gpus = [gpu._replace(index=i) for i, gpu in enumerate(gpus)]
    return snapshot._replace(memory=memory, cpu=cpu, gpus=tuple(gpus),
                   overridden=tuple(dict.fromkeys(overridden)))


def _what_if_gpu(real: GpuInfo | None, size_bytes: int, name: str | None) -> GpuInfo:
    if real is not None and real.memory_kind == "dedicated":
        return real._replace(name=name or real.name, total_bytes=size_bytes, free_bytes=size_bytes,
                       source=WHAT_IF)
    return GpuInfo(0, "unknown", name or "GPU (what-if)", "dedicated", size_bytes, size_bytes,
                   source=WHAT_IF)
