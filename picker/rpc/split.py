"""How many layers each device of several machines takes: a --tensor-split that fits.

The split is planned by the memory planner itself: every candidate is a
`plan_memory` on a combined `Machine` whose GPUs are the split's devices in
llama.cpp's order, each with its --tensor-split share (`GpuBudget.split_weight`),
so placement, weights, KV, compute buffers and margins are the one-machine
plan's. The shares are whole layer counts: llama.cpp cuts at cumulative
share / total, so counts that add up to -ngl give each device exactly its count.

Choice: the fastest device (by memory bandwidth) first takes as many layers as fit
beside its margin, then the next, as llama.cpp's --fit fills GPUs before the CPU;
a token reads every layer once, device after device, so layers on a faster device
are time saved. The output layer stays on the last device (llama.cpp puts it
there); what no device holds stays on the main host's CPU, which then must hold it.
"""

from __future__ import annotations

from typing import NamedTuple

from picker.llama_settings import LlamaSettings
from picker.memory.kv import cache_layout
from picker.memory.machine import CPU_OVERHEAD, GpuBudget, Machine
from picker.memory.placement import CPU, gpu_name
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.settings import effective
from picker.memory.shape import ModelShape
from picker.rpc.hosts import Host, HostDevice, split_devices


class SplitPlan(NamedTuple):
    hosts: tuple[Host, ...]
    devices: tuple[HostDevice, ...]  # the devices that hold something, in llama.cpp's order
    blocks: tuple[int, ...]  # repeating layers per device
    plan: MemoryPlan  # device i of the split is the plan's GPU<i>; CPU is the main host's
    machine: Machine
    unused_hosts: tuple[str, ...]  # remote hosts the split leaves empty

    @property
    def n_gpu_layers(self) -> int:
        """-ngl: the blocks on devices plus the output layer."""
        return self.plan.gpu_layers

    @property
    def tensor_split(self) -> tuple[int, ...]:
        """--tensor-split: layers per device, the output layer counted on the last one."""
        shares = list(self.blocks)
        if self.plan.output_device != CPU and shares:
            shares[-1] += 1
        return tuple(shares)

    @property
    def cpu_blocks(self) -> int:
        return self.plan.shape.n_layer - sum(self.blocks)

    @property
    def fits(self) -> bool:
        return self.plan.fits


def combined_machine(main: Host, devices: list[HostDevice] | tuple[HostDevice, ...],
                     blocks: list[int] | tuple[int, ...]) -> Machine:
    """The main host's CPU plus every split device as a GPU with its layer share."""
    shares = list(blocks)
    if shares:
        shares[-1] += 1  # the output layer
    gpus = tuple(
        GpuBudget(
            name=gpu_name(index), free_bytes=device.free_bytes,
            # a remote Mac's pool is its own RAM, not the main host's: only the main host's
            # unified GPU shares the CPU's budget in the plan
            unified=device.kind == "unified" and not device.remote,
            overhead_bytes=device.overhead_bytes, overhead_source=device.overhead_source,
            label=f"{device.host} {device.backend_name}", split_weight=share,
        )
        for index, (device, share) in enumerate(zip(devices, shares, strict=True))
    )
    return Machine(cpu_free_bytes=main.snapshot.memory.available_bytes, gpus=gpus,
                   cpu_overhead_bytes=CPU_OVERHEAD[0], cpu_overhead_source=CPU_OVERHEAD[1])


def _plan(shape: ModelShape, settings: LlamaSettings, main: Host,
          devices: list[HostDevice], blocks: list[int]) -> MemoryPlan:
    machine = combined_machine(main, devices, blocks)
    n_gpu_layers = sum(blocks) + 1 if devices else 0
    return plan_memory(shape, settings._replace(n_gpu_layers=n_gpu_layers), machine)


def _devices_fit(plan: MemoryPlan) -> bool:
    return plan.unified_shortfall_bytes == 0 and all(
        device.shortfall_bytes == 0 for device in plan.devices if device.device != CPU)


def _fastest_first(devices: list[HostDevice]) -> list[int]:
    """Device indices by memory bandwidth, fastest first (ties: llama.cpp's order)."""
    return sorted(range(len(devices)), key=lambda index: -devices[index].bandwidth.bytes_per_second)


def choose_blocks(shape: ModelShape, settings: LlamaSettings, main: Host,
                  devices: list[HostDevice]) -> list[int]:
    """Blocks per device: fastest device first, each as many as fit (a binary search per
    device over the plan, which sees every shift a new layer causes on the others)."""
    blocks = [0] * len(devices)
    for index in _fastest_first(devices):
        left = shape.n_layer - sum(blocks)
        low, high = 0, left
        while low < high:
            middle = (low + high + 1) // 2
            trial = blocks.copy()
            trial[index] = middle
            if _devices_fit(_plan(shape, settings, main, devices, trial)):
                low = middle
            else:
                high = middle - 1
        blocks[index] = low
    return blocks


def offload_everything(shape: ModelShape, settings: LlamaSettings, main: Host,
                       devices: list[HostDevice], blocks: list[int]) -> list[int] | None:
    """Blocks that put every layer on the devices, from a split that left some on the CPU.

    With every layer offloaded llama.cpp pipelines the devices, and each keeps four copies
    of its inputs (`picker.memory.pipeline`), so a device filled to the brim without them
    can overflow with them: the blocks still on the CPU go to the fastest device, then one
    block at a time moves from the device most over its free memory to the one with the
    most room, until all fit (None if they never do).
    """
    counts = blocks.copy()
    fastest_first = _fastest_first(devices)
    counts[fastest_first[0]] += shape.n_layer - sum(counts)
    layer_bytes = max(shape.layer_weight_bytes or (0,))
    layer_bytes += max(cache_layout(shape, settings, effective(settings, shape.n_ctx_train))
                       .layer_bytes or (0,))
    for _ in range(shape.n_layer * len(devices)):
        plan = _plan(shape, settings, main, devices, counts)
        if _devices_fit(plan):
            return counts
        room = [(memory.free_bytes or 0) - memory.total_bytes for memory in plan.devices[1:]]
        over = min(range(len(devices)), key=lambda i: room[i])
        # the fastest device with room for a layer takes it, else the one with the most room
        takers = [i for i in fastest_first if i != over and room[i] >= layer_bytes]
        roomy = takers[0] if takers else max(range(len(devices)), key=lambda i: room[i])
        if room[roomy] <= 0 or counts[over] == 0 or roomy == over:
            return None
        counts[over] -= 1
        counts[roomy] += 1
    return None


def solve_split(shape: ModelShape, settings: LlamaSettings, hosts: list[Host]) -> SplitPlan:
    """The split of `shape` over `hosts` (main host first) at these settings."""
    main = hosts[0]
    devices = split_devices(hosts)
    blocks = choose_blocks(shape, settings, main, devices)
    if devices and sum(blocks) < shape.n_layer:
        blocks = offload_everything(shape, settings, main, devices, blocks) or blocks
    # Remote devices left empty take no part: not in --rpc, -d or --tensor-split. The main
    # host's GPUs stay (llama.cpp sees them whatever --rpc says), with a share of 0.
    keep = [i for i, count in enumerate(blocks)
            if count or i == len(devices) - 1 or not devices[i].remote]
    used = [devices[i] for i in keep]
    used_blocks = [blocks[i] for i in keep]
    plan = _plan(shape, settings, main, used, used_blocks)
    used_hosts = {device.host for device in used}
    unused = tuple(host.name for host in hosts[1:] if host.name not in used_hosts)
    return SplitPlan(hosts=tuple(hosts), devices=tuple(used), blocks=tuple(used_blocks),
                     plan=plan, machine=combined_machine(main, used, used_blocks),
                     unused_hosts=unused)
