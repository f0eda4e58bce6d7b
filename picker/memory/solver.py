"""Choose n_gpu_layers and the largest context that fit the machine's free memory.

Placement order follows llama.cpp: everything on the GPU(s) if it fits, else as
many layers as fit (the output layer first, then blocks from the back), else
the CPU alone, else "does-not-fit" with the shortfall. `max_context` is the
largest multiple of 256, at most the trained context, that still fits with the
chosen placement.
"""

from collections.abc import Callable

from picker.llama_settings import LlamaSettings
from picker.memory.machine import Machine
from picker.memory.moe_offload import layer_expert_bytes
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.shape import ModelShape
from picker.namedrecord import NamedRecord

CONTEXT_STEP = 256
UNKNOWN_TRAINED_CONTEXT = 131072  # cap when a header does not say


class FitResult(NamedRecord):
    plan: MemoryPlan
    max_context: int  # 0: not even 256 tokens fit
    n_gpu_layers_auto: bool


def _gpus_fit(plan: MemoryPlan) -> bool:
    return all(device.shortfall_bytes == 0 for device in plan.devices if device.device != "CPU")


def choose_gpu_layers(shape: ModelShape, settings: LlamaSettings, machine: Machine) -> MemoryPlan:
    """The plan with the most layers on GPUs that fits; if none fits, the one with most
    layers the GPUs can hold (its shortfall then says what is missing).

    GPU memory grows and CPU memory shrinks with every layer moved, so the answer is
    the largest layer count the GPUs hold (a binary search); if the CPU cannot hold
    the rest there, it cannot with fewer layers on the GPUs either.
    """
    def plan_for(layers: int) -> MemoryPlan:
        return plan_memory(shape, settings._replace(n_gpu_layers=layers), machine)

    if not machine.gpus:
        return plan_for(0)
    everything = plan_for(shape.n_layer + 1)
    if _gpus_fit(everything):
        return everything
    low, high = 0, shape.n_layer
    while low < high:
        middle = (low + high + 1) // 2
        if _gpus_fit(plan_for(middle)):
            low = middle
        else:
            high = middle - 1
    return plan_for(low)


def _moved_blocks_lower_bound(shape: ModelShape, plan: MemoryPlan) -> int:
    """Fewest blocks whose experts must leave the GPUs for `plan` (none moved yet) to fit:
    each frees at most the largest block's expert bytes, less one for what the moved
    experts' buffers change; at least 1."""
    largest = max(layer_expert_bytes(shape), default=0)
    excess = sum(device.total_bytes - device.free_bytes for device in plan.devices
                 if device.device != "CPU" and device.free_bytes is not None)
    return max(1, excess // largest - 1) if largest > 0 else 1


def choose_cpu_moe(shape: ModelShape, settings: LlamaSettings, machine: Machine,
                   place: Callable[[LlamaSettings], MemoryPlan] | None = None,
                   at_least: int = 0) -> MemoryPlan:
    """`--n-cpu-moe auto`: the fewest blocks whose experts stay on the CPU for the GPUs to
    hold the rest, with the layers asked for (auto: all of them).

    Each block moved takes weight off the GPUs, so the answer is a binary search; when even
    every block's experts on the CPU leave the GPUs short, n_gpu_layers drops as usual.
    `place` plans one such setting (default: `plan_memory` on `machine`, llama.cpp's split
    of the layers by free memory); the ranking passes one that also re-splits the layers
    across several GPUs. `at_least`: a count known to be needed (the answer for more free
    memory), where the search starts, galloping up from it (the ranking's second, roomier
    search then costs a few plans instead of a full search).
    """
    layers = shape.n_layer + 1 if settings.n_gpu_layers is None else settings.n_gpu_layers
    planned: dict[int, MemoryPlan] = {}  # the searches end on a count they have planned

    def plan_for(n_cpu_moe: int) -> MemoryPlan:
        if n_cpu_moe not in planned:
            asked = settings._replace(n_gpu_layers=layers, n_cpu_moe=n_cpu_moe)
            planned[n_cpu_moe] = (plan_memory(shape, asked, machine) if place is None
                                  else place(asked))
        return planned[n_cpu_moe]

    if not machine.gpus or not shape.n_expert:
        return plan_for(0)
    known_short = at_least - 1  # the largest count known to leave the GPUs short
    if at_least <= 0:
        first = plan_for(0)
        if _gpus_fit(first):
            return first
        # An estimate, not known: should it fit at once, the search below still starts at 1.
        known_short, at_least = 0, _moved_blocks_lower_bound(shape, first)
    if 0 < at_least <= shape.n_layer:
        failed, probe, step = known_short, at_least, 1  # failed: the largest count short
        while not _gpus_fit(plan_for(probe)):
            failed = probe
            if probe == shape.n_layer:
                break
            probe, step = min(shape.n_layer, probe + step), 2 * step
        if failed < probe:  # probe fits: the answer lies in failed + 1 .. probe
            return plan_for(_fewest_fitting(failed + 1, probe, plan_for))
    if not _gpus_fit(plan_for(shape.n_layer)):
        every = settings._replace(n_cpu_moe=shape.n_layer)
        if settings.n_gpu_layers is None:
            return choose_gpu_layers(shape, every, machine)
        return plan_memory(shape, every, machine)
    return plan_for(_fewest_fitting(1, shape.n_layer, plan_for))


def _fewest_fitting(low: int, high: int, plan_for: Callable[[int], MemoryPlan]) -> int:
    """The fewest blocks in low..high whose plan the GPUs hold (`high`'s does): a binary search."""
    while low < high:
        middle = (low + high) // 2
        if _gpus_fit(plan_for(middle)):
            high = middle
        else:
            low = middle + 1
    return low


def largest_fitting_context(shape: ModelShape, settings: LlamaSettings,
                            fits: Callable[[LlamaSettings], bool]) -> int:
    """The largest context (multiple of 256, at most the trained one) at which `fits`
    holds; 0 if not even 256 tokens fit."""
    high = (shape.n_ctx_train or UNKNOWN_TRAINED_CONTEXT) // CONTEXT_STEP
    if fits(settings._replace(n_ctx=high * CONTEXT_STEP)):
        return high * CONTEXT_STEP
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits(settings._replace(n_ctx=middle * CONTEXT_STEP)):
            low = middle
        else:
            high = middle - 1
    return low * CONTEXT_STEP


def max_context(shape: ModelShape, settings: LlamaSettings, machine: Machine) -> int:
    """Largest n_ctx (multiple of 256, <= trained context) that fits with these settings."""
    return largest_fitting_context(shape, settings,
                                   lambda candidate: plan_memory(shape, candidate, machine).fits)


def solve_plan(shape: ModelShape, settings: LlamaSettings, machine: Machine) -> MemoryPlan:
    """Plan `settings` on `machine`; n_gpu_layers=None (n_cpu_moe=None) lets the solver
    choose the layers on the GPUs (the blocks whose experts stay on the CPU; on several GPUs
    with the blocks re-split where that keeps more on them, `expert_split`)."""
    if settings.n_cpu_moe is None:
        from picker.memory.expert_split import choose_cpu_moe_resplit  # builds on this module

        return choose_cpu_moe_resplit(shape, settings, machine)
    chooser = choose_gpu_layers if settings.n_gpu_layers is None else plan_memory
    return chooser(shape, settings, machine)


def fit(shape: ModelShape, settings: LlamaSettings, machine: Machine) -> FitResult:
    """`solve_plan`, and the largest context that fits with the placement it chose."""
    from picker.memory.expert_split import pinned_split

    auto = settings.n_gpu_layers is None
    plan = solve_plan(shape, settings, machine)
    # the context grows with the layers per GPU kept as planned (a re-split pinned)
    return FitResult(plan=plan, max_context=max_context(shape, plan.settings,
                                                        pinned_split(machine, plan)),
                     n_gpu_layers_auto=auto)
