"""GPU memory in use, read from NVML, so a smoke test can report what a load really took.

llama.cpp's buffer lines leave out the CUDA context and driver allocations; the
difference in NVML's used memory before and after the load shows all of it. Any
NVML failure means "not measured" (None), never an error.
"""

from __future__ import annotations

import contextlib
from typing import Any


def nvidia_used_bytes() -> list[int] | None:
    """Used memory of each NVIDIA GPU, in index order; None without NVML or a GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        count = int(pynvml.nvmlDeviceGetCount())
        used: list[int] = []
        for index in range(count):
            handle: Any = pynvml.nvmlDeviceGetHandleByIndex(index)
            used.append(int(pynvml.nvmlDeviceGetMemoryInfo(handle).used))
        return used or None
    except pynvml.NVMLError:
        return None
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def used_delta_bytes(before: list[int] | None, after: list[int] | None) -> int | None:
    """Memory the load added over all GPUs (other processes' changes included: NVML cannot tell)."""
    if before is None or after is None or len(before) != len(after):
        return None
    return sum(later - earlier for earlier, later in zip(before, after, strict=True))
