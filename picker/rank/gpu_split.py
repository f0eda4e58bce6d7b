"""How a plan spreads a model over several GPUs, said per device and as llama.cpp's flags.

llama.cpp's default (`--split-mode layer`) gives each GPU a contiguous run of layers in
proportion to its free memory, and each GPU then holds its layers' weights and KV cache
and a compute buffer of its own; the memory plan models exactly that. This states the
result per GPU (layers, what it holds, what it has free) and the `--tensor-split` that
pins the same layer counts (layers per device, the output layer counted on the GPU that
holds it), so the split can be reproduced with llama-server or llama-cli on a machine
whose free memory differs.
"""

from __future__ import annotations

from typing import Any

from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan
from picker.units import format_size


def gpu_split(plan: MemoryPlan) -> dict[str, object] | None:
    """The per-GPU split of a plan that puts layers on two GPUs or more; None otherwise."""
    gpus = [device for device in plan.devices if device.device != CPU]
    holding = [device for device in gpus if device.layers or device.device == plan.output_device]
    if len(holding) < 2:
        return None
    shares = [device.layers + (device.device == plan.output_device) for device in gpus]
    devices = [{"device": device.device, "layers": device.layers,
                "output_layer": device.device == plan.output_device,
                "weights_bytes": device.weights_bytes, "kv_cache_bytes": device.kv_cache_bytes,
                "compute_bytes": device.compute_bytes, "total_bytes": device.total_bytes,
                "free_bytes": device.free_bytes, "fits": device.shortfall_bytes == 0}
               for device in gpus]
    flag = ",".join(str(share) for share in shares)
    note = ("llama.cpp's default split (by free memory) gives these layers; "
            f"--tensor-split {flag} pins them")
    if plan.settings.n_cpu_moe:  # the moved experts are the first blocks': the blocks re-split
        note = (f"the experts kept on the CPU are the first {plan.settings.n_cpu_moe} blocks', "
                f"so the first GPU takes more blocks: --tensor-split {flag} gives these layers "
                "(llama.cpp's default split by free memory would overfill a later GPU)")
    return {"devices": devices, "tensor_split": shares,
            "llama_cpp_flags": f"--split-mode layer --tensor-split {flag}", "note": note}


def split_words(split: dict[str, Any]) -> str:
    """One line for people: each GPU's layers and memory, and the flag."""
    parts = []
    for device in split["devices"]:
        free = device["free_bytes"]
        parts.append(f"{device['device']} {device['layers']} layers"
                     + (" + output" if device["output_layer"] else "")
                     + f" ({format_size(device['total_bytes'])}"
                     + (f" of {format_size(free)} free" if free is not None else "")
                     + f": weights {format_size(device['weights_bytes'])}, KV "
                     f"{format_size(device['kv_cache_bytes'])}, compute "
                     f"{format_size(device['compute_bytes'])})")
    return "; ".join(parts) + f"; {split['llama_cpp_flags']}"
