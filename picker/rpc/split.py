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

from picker.memory.machine import CPU_OVERHEAD, GpuBudget, Machine
from picker.memory.placement import CPU, gpu_name
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.settings import Settings
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


def _plan(shape: ModelShape, settings: Settings, main: Host,
          devices: list[HostDevice], blocks: list[int]) -> MemoryPlan:
    machine = combined_machine(main, devices, blocks)
    n_gpu_layers = sum(blocks) + 1 if devices else 0
    return plan_memory(shape, settings._replace(n_gpu_layers=n_gpu_layers), machine)


def _devices_fit(plan: MemoryPlan) -> bool:
    return plan.unified_shortfall_bytes == 0 and all(
        device.shortfall_bytes == 0 for device in plan.devices if device.device != CPU)


def choose_blocks(shape: ModelShape, settings: Settings, main: Host,
                  devices: list[HostDevice]) -> list[int]:
    """Blocks per device: fastest device first, each as many as fit (a binary search per
    device over the plan, which sees every shift a new layer causes on the others)."""
    blocks = [0] * len(devices)
    fastest_first = sorted(range(len(devices)),
                           key=lambda index: -devices[index].bandwidth.bytes_per_second)
    for index in fastest_first:
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


def solve_split(shape: ModelShape, settings: Settings, hosts: list[Host]) -> SplitPlan:
    """The split of `shape` over `hosts` (main host first) at these settings."""
    main = hosts[0]
    devices = split_devices(hosts)
    blocks = choose_blocks(shape, settings, main, devices)
    # Devices left empty take no part (the last one keeps the output layer): not in the commands.
    keep = [i for i, count in enumerate(blocks) if count or i == len(devices) - 1]
    used = [devices[i] for i in keep]
    used_blocks = [blocks[i] for i in keep]
    plan = _plan(shape, settings, main, used, used_blocks)
    used_hosts = {device.host for device in used}
    unused = tuple(host.name for host in hosts[1:] if host.name not in used_hosts)
    return SplitPlan(hosts=tuple(hosts), devices=tuple(used), blocks=tuple(used_blocks),
                     plan=plan, machine=combined_machine(main, used, used_blocks),
                     unused_hosts=unused)
