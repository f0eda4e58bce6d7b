"""Choose n_gpu_layers and the largest context that fit the machine's free memory.

Placement order follows llama.cpp: everything on the GPU(s) if it fits, else as
many layers as fit (the output layer first, then blocks from the back), else
the CPU alone, else "does-not-fit" with the shortfall. `max_context` is the
largest multiple of 256, at most the trained context, that still fits with the
chosen placement.
"""

from typing import NamedTuple

from picker.memory.machine import Machine
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.settings import Settings
from picker.memory.shape import ModelShape

CONTEXT_STEP = 256
UNKNOWN_TRAINED_CONTEXT = 131072  # cap when a header does not say


class FitResult(NamedTuple):
    plan: MemoryPlan
    max_context: int  # 0: not even 256 tokens fit
    n_gpu_layers_auto: bool


def _gpus_fit(plan: MemoryPlan) -> bool:
    return all(device.shortfall_bytes == 0 for device in plan.devices if device.device != "CPU")


def choose_gpu_layers(shape: ModelShape, settings: Settings, machine: Machine) -> MemoryPlan:
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


def max_context(shape: ModelShape, settings: Settings, machine: Machine) -> int:
    """Largest n_ctx (multiple of 256, <= trained context) that fits with these settings."""
    trained = shape.n_ctx_train or UNKNOWN_TRAINED_CONTEXT
    high = trained // CONTEXT_STEP
    if plan_memory(shape, settings._replace(n_ctx=high * CONTEXT_STEP), machine).fits:
        return high * CONTEXT_STEP
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        plan = plan_memory(shape, settings._replace(n_ctx=middle * CONTEXT_STEP), machine)
        if plan.fits:
            low = middle
        else:
            high = middle - 1
    return low * CONTEXT_STEP


def fit(shape: ModelShape, settings: Settings, machine: Machine) -> FitResult:
    """Plan `settings` on `machine`; n_gpu_layers=None lets the solver choose."""
    auto = settings.n_gpu_layers is None
    choose = choose_gpu_layers if auto else plan_memory
    plan = choose(shape, settings, machine)
    return FitResult(plan=plan, max_context=max_context(shape, plan.settings, machine),
                     n_gpu_layers_auto=auto)
