"""A memory plan: where every byte of a model at given settings goes, per device.

`plan_memory(shape, settings, machine)` places layers the way llama.cpp does
(`placement.assign_layers`), then adds up weights (exact, from the tensor
infos), KV cache and recurrent state (exact, `kv.py`), compute buffers
(`compute.py`), the logits output buffer and a stated margin per device, and
checks each device against its FREE memory. `solver.py` picks n_gpu_layers and
the largest context on top of this.
"""

from itertools import groupby
from typing import Any, NamedTuple

from picker.llama_settings import LlamaSettings
from picker.memory.architectures import unsupported_reason
from picker.memory.compute import (
    closed_form_note,
    compute_bytes,
    host_input_bytes,
    layer_phase_floats,
    rotated_cache,
)
from picker.memory.compute_graph import graph_compute_bytes
from picker.memory.kv import cache_layout
from picker.memory.machine import Machine
from picker.memory.moe_offload import (
    OFFLOAD_MIN_BATCH,
    expert_split_bytes,
    layer_expert_bytes,
    resolve_n_cpu_moe,
)
from picker.memory.moe_offload import note as moe_note
from picker.memory.pipeline import (
    SCHED_COPIES,
    host_graph_input_bytes,
    pipeline_compute_bytes,
    pipeline_parallel,
)
from picker.memory.placement import CPU, assign_layers
from picker.memory.server_notes import checkpoint_note, mtp_note
from picker.memory.settings import Effective, check, effective
from picker.memory.shape import ModelShape


class DeviceMemory(NamedTuple):
    device: str  # "CPU" or "GPU0", "GPU1", ...
    weights_bytes: int
    kv_cache_bytes: int
    compute_bytes: int
    output_bytes: int
    overhead_bytes: int
    overhead_source: str
    free_bytes: int | None  # what the device has free; None: unknown (never blocks a fit)
    layers: int = 0  # repeating layers placed here

    @property
    def total_bytes(self) -> int:
        return (self.weights_bytes + self.kv_cache_bytes + self.compute_bytes
                + self.output_bytes + self.overhead_bytes)

    @property
    def buffers_bytes(self) -> int:
        """What llama.cpp's buffer lines add up to (everything but the margin)."""
        return self.total_bytes - self.overhead_bytes

    @property
    def shortfall_bytes(self) -> int:
        if self.free_bytes is None:
            return 0
        return max(0, self.total_bytes - self.free_bytes)

    def to_dict(self) -> dict[str, object]:
        return {
            "device": self.device, "layers": self.layers,
            "weights_bytes": self.weights_bytes, "kv_cache_bytes": self.kv_cache_bytes,
            "compute_bytes": self.compute_bytes, "output_bytes": self.output_bytes,
            "overhead_bytes": self.overhead_bytes, "overhead_source": self.overhead_source,
            "total_bytes": self.total_bytes, "free_bytes": self.free_bytes,
            "shortfall_bytes": self.shortfall_bytes,
        }


class MemoryPlan(NamedTuple):
    shape: ModelShape
    settings: LlamaSettings  # n_gpu_layers resolved to a number
    effective: Effective
    devices: tuple[DeviceMemory, ...]
    output_device: str
    unified_shortfall_bytes: int = 0  # unified memory: GPU + CPU share one pool
    notes: tuple[str, ...] = ()
    recurrent_bytes: int = 0  # of the devices' kv_cache_bytes: recurrent state (conv + SSM)
    cpu_moe_bytes: int = 0  # of the CPU's weights: routed experts moved off the GPUs (--n-cpu-moe)
    # with experts on the CPU: each device's routed-expert bytes, for the speed estimate
    expert_bytes_by_device: tuple[tuple[str, int], ...] = ()
    # of each GPU's compute buffer: the host experts ggml-cuda copies in for a prompt's
    # matmuls (a CUDA/ROCm backend's offload_op; llama.cpp's RPC and CPU backends have none)
    host_weight_copy_bytes: tuple[tuple[str, int], ...] = ()

    def total(self, key: str) -> int:
        return sum(int(getattr(device, key)) for device in self.devices)

    @property
    def total_bytes(self) -> int:
        return self.total("total_bytes")

    @property
    def shortfall_bytes(self) -> int:
        return max(self.total("shortfall_bytes"), self.unified_shortfall_bytes)

    @property
    def fits(self) -> bool:
        return self.shortfall_bytes == 0

    @property
    def gpu_layers(self) -> int:
        """Layers (blocks plus the output layer) on GPUs, as llama.cpp counts them."""
        blocks = sum(device.layers for device in self.devices if device.device != CPU)
        return blocks + (self.output_device != CPU)

    @property
    def placement(self) -> str:
        if not self.fits:
            return "does-not-fit"
        if self.gpu_layers == 0:
            return "cpu"
        return "gpu" if self.gpu_layers >= self.shape.n_layer + 1 else "partial"

    def memory_dict(self) -> dict[str, object]:
        keys = ("weights_bytes", "kv_cache_bytes", "compute_bytes", "output_bytes",
                "overhead_bytes", "total_bytes")
        summary: dict[str, Any] = {key: self.total(key) for key in keys}
        summary["devices"] = [device.to_dict() for device in self.devices]
        return summary


def _budget(machine: Machine, name: str) -> tuple[int | None, int, str]:
    """(free bytes, margin bytes, margin source) of one device."""
    if name == CPU:
        return machine.cpu_free_bytes, machine.cpu_overhead_bytes, machine.cpu_overhead_source
    gpu = next(g for g in machine.gpus if g.name == name)
    return gpu.free_bytes, gpu.overhead_bytes, gpu.overhead_source


def _move_experts(shape: ModelShape, layer_device: list[str], n_cpu_moe: int,
                  weights: dict[str, int]) -> dict[str, list[int]]:
    """Move the routed experts of blocks < n_cpu_moe that sit on a GPU to the CPU, in
    `weights`; the bytes moved per GPU, one entry per block."""
    moved: dict[str, list[int]] = {name: [] for name in weights}
    experts = layer_expert_bytes(shape) if n_cpu_moe else ()
    for il in range(n_cpu_moe):
        device = layer_device[il]
        if device != CPU and experts[il]:
            weights[device] -= experts[il]
            weights[CPU] += experts[il]
            moved[device].append(experts[il])
    return moved


def _experts_held(shape: ModelShape, layer_device: list[str],
                  moved: dict[str, list[int]]) -> tuple[tuple[str, int], ...]:
    """Routed-expert bytes each device holds once the moved ones are on the CPU."""
    held = dict.fromkeys(moved, 0)
    for device, size in zip(layer_device, layer_expert_bytes(shape), strict=False):
        held[device] += size
    for device, sizes in moved.items():
        held[device] -= sum(sizes)
        held[CPU] += sum(sizes)
    return tuple(held.items())


def plan_memory(shape: ModelShape, settings: LlamaSettings, machine: Machine) -> MemoryPlan:
    """The plan for exactly these settings (n_gpu_layers must be a number here)."""
    n_gpu_layers = settings.n_gpu_layers or 0
    check(settings, *shape.head_lengths, shape.is_mla)
    eff = effective(settings, shape.n_ctx_train)
    layout = cache_layout(shape, settings, eff)
    gpus = machine.gpus
    layer_device = assign_layers(shape.n_layer, n_gpu_layers, [gpu.split_bytes for gpu in gpus])
    output_device = layer_device[shape.n_layer]
    names = [CPU] + [gpu.name for gpu in gpus]
    weights = dict.fromkeys(names, 0)
    kv = dict.fromkeys(names, 0)
    layers = dict.fromkeys(names, 0)
    weights[CPU] += shape.input_weight_bytes
    layer_weights = shape.layer_weight_bytes or (0,) * shape.n_layer
    start = 0
    for device, run in groupby(layer_device[: shape.n_layer]):  # contiguous runs of layers
        end = start + len(list(run))
        layers[device] += end - start
        weights[device] += sum(layer_weights[start:end])
        kv[device if settings.offload_kqv else CPU] += sum(layout.layer_bytes[start:end])
        start = end
    n_cpu_moe = resolve_n_cpu_moe(settings.n_cpu_moe or 0, shape.n_layer)
    moved = _move_experts(shape, layer_device, n_cpu_moe, weights)
    weights[output_device] += shape.output_weight_bytes
    if output_device != CPU:
        weights[output_device] += shape.tied_copy_bytes
    rotated = rotated_cache(shape, settings.type_k, settings.type_v, settings.flash_attn)
    phase = layer_phase_floats(shape, layout.caches, settings.flash_attn, range(shape.n_layer),
                               rotated)
    ubatch = eff.n_ubatch
    graph = None
    if layers[output_device] and settings.n_seq_max == 1:
        graph = graph_compute_bytes(shape, layout.caches.base_cells, layout.caches.swa_cells,
                                    ubatch, settings.flash_attn, settings.type_k, settings.type_v)
    devices = []
    weight_copies: list[tuple[str, int]] = []
    pipeline = pipeline_parallel(len(gpus), n_gpu_layers, shape.n_layer, settings.offload_kqv,
                                 tensor_overrides=n_cpu_moe > 0)
    split = None  # experts on the CPU, or pipelined: the GPUs' buffers from a replay of the splits
    if (any(moved.values()) or pipeline) and settings.n_seq_max == 1:
        # Imported here: only plans with experts on the CPU or several GPUs replay the splits,
        # and the module (with its graph builders) stays off a one-GPU or CPU `picker --json`.
        from picker.memory.split_replay import gpu_split_compute_bytes

        split = gpu_split_compute_bytes(shape, layout.caches, ubatch, settings.flash_attn,
                                          settings.type_k, settings.type_v, layer_device,
                                          output_device, names, n_cpu_moe,
                                          SCHED_COPIES if pipeline else 1)
    for name in names:
        holds_output = name == output_device
        replayed = split is not None and name in split
        if split is not None and replayed:
            compute = split[name]
        elif layers[name] or holds_output:
            own_phase = phase
            if not holds_output and name != CPU and len(moved[name]) == layers[name]:
                own_phase = layer_phase_floats(  # every block here runs its experts on the CPU
                    shape, layout.caches, settings.flash_attn, range(shape.n_layer), rotated,
                    experts_on_cpu=True)
            compute = compute_bytes(shape, layout.caches, settings.flash_attn, ubatch,
                                    range(shape.n_layer) if layers[name] else range(0),
                                    holds_output, phase_floats=own_phase, rotated=rotated,
                                    graph_bytes=graph)
        elif name == CPU:
            compute = host_input_bytes(shape, ubatch)
        else:
            compute = 0
        if pipeline and (compute or name == CPU) and not replayed:
            own = [il for il, device in enumerate(layer_device[: shape.n_layer]) if device == name]
            compute = pipeline_compute_bytes(compute, shape, layout.caches, settings.flash_attn,
                                             ubatch, own, holds_output, name == CPU)
        if name != CPU and moved[name] and ubatch >= OFFLOAD_MIN_BATCH:
            weight_copies.append((name, max(moved[name])))  # host experts copied in for a prompt
            compute += weight_copies[-1][1]
        if name == CPU and any(moved.values()):  # the moved experts run on the CPU, above
            compute = max(compute, host_graph_input_bytes(  # the inputs and looked-up rows
                shape, layout.caches, settings.flash_attn, ubatch)
                + shape.n_embd * ubatch * 4 + expert_split_bytes(shape, ubatch))
        free, overhead, source = _budget(machine, name)
        if name != CPU and not layers[name] and not holds_output:
            overhead = 0  # llama.cpp never touches a GPU it places nothing on
        output = 4 * shape.n_vocab * settings.n_seq_max if name == CPU else 0  # host logits
        devices.append(DeviceMemory(
            device=name, weights_bytes=weights[name], kv_cache_bytes=kv[name],
            compute_bytes=compute, output_bytes=output, overhead_bytes=overhead,
            overhead_source=source, free_bytes=free, layers=layers[name],
        ))
    unified_shortfall = 0
    unified = [d for d, gpu in zip(devices[1:], gpus, strict=True) if gpu.unified]
    if unified and machine.cpu_free_bytes is not None:
        pooled = devices[0].total_bytes + sum(d.total_bytes for d in unified)
        unified_shortfall = max(0, pooled - machine.cpu_free_bytes)
    notes = [reason for reason in (unsupported_reason(shape.architecture),) if reason]
    if layers[output_device] and graph is None:
        notes.append(closed_form_note(shape.architecture))
    if n_cpu_moe:
        copies = [max(sizes) for name, sizes in moved.items() if sizes and name != CPU]
        notes.append(moe_note(shape, n_cpu_moe, sum(sum(sizes) for sizes in moved.values()),
                              max(copies, default=0) if ubatch >= OFFLOAD_MIN_BATCH else 0))
    swa_cache = 0 if settings.swa_full else sum(
        size for il, size in enumerate(layout.layer_bytes[: shape.n_layer])
        if shape.is_swa(il) and not shape.is_recurrent(il))
    notes += [note for note in (mtp_note(shape), checkpoint_note(
        shape, layout.recurrent_bytes, settings.n_seq_max, swa_cache)) if note]
    return MemoryPlan(
        shape=shape, settings=settings._replace(n_gpu_layers=n_gpu_layers, n_cpu_moe=n_cpu_moe),
        effective=eff, cpu_moe_bytes=sum(sum(sizes) for sizes in moved.values()),
        expert_bytes_by_device=_experts_held(shape, layer_device, moved) if n_cpu_moe else (),
        host_weight_copy_bytes=tuple(weight_copies),
        devices=tuple(devices), output_device=output_device,
        unified_shortfall_bytes=unified_shortfall, notes=tuple(notes),
        recurrent_bytes=layout.recurrent_bytes,
    )
