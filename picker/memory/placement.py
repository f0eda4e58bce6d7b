"""Which device each layer lands on, in llama.cpp's order.

llama_model::load_tensors: with n_gpu_layers = g on a model of L blocks, block
i goes to a GPU when i >= L + 1 - g, and the output layer counts as index L, so
it is offloaded first; the input layer (token embeddings) always stays on the
CPU. Offloaded layers are split across GPUs in proportion to their free memory
(the default split), each GPU taking a contiguous run.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

CPU = "CPU"


def gpu_name(index: int) -> str:
    return f"GPU{index}"


def assign_layers(n_layer: int, n_gpu_layers: int, gpu_split_bytes: Sequence[int]) -> list[str]:
    """Device of blocks 0..n_layer-1 and, last, of the output layer."""
    if not gpu_split_bytes or n_gpu_layers <= 0:
        return [CPU] * (n_layer + 1)
    weights = [max(0, value) for value in gpu_split_bytes]
    if not any(weights):
        weights = [1] * len(weights)
    running = 0.0
    split_points = []
    total = float(sum(weights))
    for value in weights:
        running += value
        split_points.append(running / total)
    start = max(n_layer + 1 - n_gpu_layers, 0)
    active = min(n_gpu_layers, n_layer + 1)
    if len(weights) == 1:
        return [CPU] * start + [gpu_name(0)] * (n_layer + 1 - start)
    devices = []
    for il in range(n_layer + 1):
        if il < start or il - start >= active:
            devices.append(CPU)
            continue
        index = bisect.bisect_right(split_points, (il - start) / active)
        devices.append(gpu_name(min(index, len(weights) - 1)))
    return devices
