"""The memory a plan may use: free RAM and each GPU's free memory, with margins.

The margin is memory no llama.cpp buffer line shows (CUDA/ROCm context and
driver, Metal's command buffers, the runtime's own code and heap). Values and
their sources are stated in every plan.
"""

from picker.hardware.model import HardwareSnapshot
from picker.memory.placement import gpu_name
from picker.namedrecord import NamedRecord

MIB = 1024 * 1024
# Ollama reserves 457 MiB per CUDA/ROCm GPU for the context and driver.
DEDICATED_GPU_OVERHEAD = (457 * MIB, "Ollama's per-GPU reserve for the CUDA/ROCm context (457 MiB)")
# Ollama reserves 512 MiB on Metal.
UNIFIED_GPU_OVERHEAD = (512 * MIB, "Ollama's Metal reserve (512 MiB)")
# gguf-parser-go's RAM footprint for the llama.cpp runtime itself.
CPU_OVERHEAD = (150 * MIB, "gguf-parser-go's RAM footprint of the llama.cpp runtime (150 MiB)")


class GpuBudget(NamedRecord):
    name: str  # GPU0, GPU1, ...
    free_bytes: int | None
    unified: bool = False  # shares system RAM (Apple Silicon)
    overhead_bytes: int = DEDICATED_GPU_OVERHEAD[0]
    overhead_source: str = DEDICATED_GPU_OVERHEAD[1]
    label: str = ""  # the GPU's own name, for people
    split_weight: int | None = None  # this device's --tensor-split share; None: free memory

    @property
    def split_bytes(self) -> int:
        """What llama.cpp splits layers by: --tensor-split when given, else free memory."""
        if self.split_weight is not None:
            return self.split_weight
        return self.free_bytes or 0


class Machine(NamedRecord):
    cpu_free_bytes: int | None
    gpus: tuple[GpuBudget, ...] = ()
    cpu_overhead_bytes: int = CPU_OVERHEAD[0]
    cpu_overhead_source: str = CPU_OVERHEAD[1]


def machine_from_snapshot(snapshot: HardwareSnapshot) -> Machine:
    """Free memory to plan against, from the hardware probe (or its what-if overrides).

    Integrated GPUs that borrow RAM ("shared") are not used: llama.cpp's CPU
    backend is the honest plan for them.
    """
    gpus: list[GpuBudget] = []
    for gpu in snapshot.gpus:
        if gpu.memory_kind == "shared":
            continue
        unified = gpu.memory_kind == "unified"
        overhead, source = UNIFIED_GPU_OVERHEAD if unified else DEDICATED_GPU_OVERHEAD
        gpus.append(GpuBudget(
            name=gpu_name(len(gpus)), free_bytes=gpu.free_bytes, unified=unified,
            overhead_bytes=overhead, overhead_source=source, label=gpu.name or "",
        ))
    return Machine(cpu_free_bytes=snapshot.memory.available_bytes, gpus=tuple(gpus))
