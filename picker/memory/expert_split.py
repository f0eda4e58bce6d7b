"""MoE experts on the CPU across several GPUs: the blocks re-split so every GPU is filled.

`--n-cpu-moe N` keeps the routed experts of the FIRST N blocks on the CPU, and llama.cpp's
split by free memory puts the first blocks on the first GPU: with the experts gone it is
left half empty while a later GPU overflows, so `--n-cpu-moe auto` would need far more
blocks' experts on the CPU than the GPUs could hold the rest of. Re-splitting the blocks
(pinned with `--tensor-split`, as llama.cpp's --fit and people with -ts do) fills each GPU
in turn; `choose_cpu_moe_resplit` is the solver's `choose_cpu_moe` with that placement.
"""

from __future__ import annotations

from collections.abc import Callable

from picker.llama_settings import LlamaSettings
from picker.memory.machine import Machine
from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.shape import ModelShape
from picker.memory.solver import choose_cpu_moe


def with_split(machine: Machine, shares: list[int]) -> Machine:
    """The machine with these --tensor-split shares (layer counts, the output layer counted on
    the GPU that holds it): llama.cpp then gives each GPU exactly its count."""
    gpus = tuple(gpu._replace(split_weight=share) for gpu, share in zip(machine.gpus, shares,
                                                                          strict=True))
    return machine._replace(gpus=gpus)


def plan_shares(plan: MemoryPlan) -> list[int]:
    """A plan's layers per GPU, the output layer counted where it is."""
    return [device.layers + (device.device == plan.output_device)
            for device in plan.devices if device.device != CPU]


def pinned_split(machine: Machine, plan: MemoryPlan) -> Machine:
    """`machine` with the plan's layers per GPU pinned (--tensor-split), so that re-planning
    its settings there gives the same placement; unchanged with one GPU."""
    return with_split(machine, plan_shares(plan)) if len(machine.gpus) > 1 else machine


def largest_fitting(fits: Callable[[int], bool], most: int, guess: int) -> int:
    """The largest count in 0..most for which `fits` holds (it holds up to some count, and
    not above): galloping from `guess`, then a binary search, so that a good guess (the
    previous split) costs a few plans instead of a full search."""
    low, high, step = 0, most, 1
    start = min(max(guess, 0), most)
    if fits(start):
        low = start
        while low < high:
            probe = min(high, low + step)
            if not fits(probe):
                high = probe - 1
                break
            low, step = probe, 2 * step
    else:
        high = start - 1
        while low < high:
            probe = max(low, high - step + 1)
            if fits(probe):
                low = probe
                break
            high, step = probe - 1, 2 * step
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return max(low, 0)


def fill_gpus_in_order(shape: ModelShape, settings: LlamaSettings, machine: Machine,
                        guesses: list[int]) -> MemoryPlan:
    """Plan every layer on the GPUs, each GPU in turn taking as many blocks as fit (the last
    one the rest and the output layer), pinned with --tensor-split. The experts moved to the
    CPU are the first blocks', which llama.cpp's split by free memory puts on the first GPU:
    it would be left half empty while the last one overflows, so the blocks are re-split
    (as llama.cpp's --fit does, and people do with -ts). `guesses`: the blocks per GPU of
    the previous call, where the search starts (updated)."""
    if (settings.n_gpu_layers or 0) <= shape.n_layer:
        return plan_memory(shape, settings, machine)
    counts = [0] * len(machine.gpus)
    if len(guesses) != len(counts):
        guesses[:] = [shape.n_layer // len(counts)] * len(counts)

    def plan_with(trial: list[int]) -> MemoryPlan:
        shares = [*trial[:-1], shape.n_layer - sum(trial[:-1]) + 1]
        return plan_memory(shape, settings, with_split(machine, shares))

    for index in range(len(counts) - 1):
        def fits(blocks: int, index: int = index) -> bool:  # a GPU's bytes grow with its blocks
            trial = counts.copy()
            trial[index] = blocks
            return plan_with(trial).devices[index + 1].shortfall_bytes == 0

        counts[index] = largest_fitting(fits, shape.n_layer - sum(counts), guesses[index])
    guesses[:] = counts
    return plan_with(counts)


def choose_cpu_moe_resplit(shape: ModelShape, settings: LlamaSettings, machine: Machine,
                           guesses: list[int] | None = None, at_least: int = 0) -> MemoryPlan:
    """`choose_cpu_moe` (the fewest blocks' experts on the CPU) on llama.cpp's split, and on
    several GPUs also with the blocks re-split for each count tried: the re-split plan where
    it keeps more on the GPUs (fits, more layers there, fewer blocks' experts moved).
    `guesses`: a split to start from, kept across calls (updated); `at_least`: as in
    `choose_cpu_moe`."""
    default = choose_cpu_moe(shape, settings, machine, at_least=at_least)
    if len(machine.gpus) < 2 or (default.fits and not default.settings.n_cpu_moe):
        return default
    start = [] if guesses is None else guesses
    resplit = choose_cpu_moe(shape, settings, machine,
                             lambda asked: fill_gpus_in_order(shape, asked, machine, start),
                             at_least)

    def kept(plan: MemoryPlan) -> tuple[bool, int, int]:
        return plan.fits, plan.gpu_layers, -(plan.settings.n_cpu_moe or 0)

    return resplit if kept(resplit) > kept(default) else default
