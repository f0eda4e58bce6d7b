"""Choose n_gpu_layers and the largest context that fit the machine's free memory.

Placement order follows llama.cpp: everything on the GPU(s) if it fits, else as
many layers as fit (the output layer first, then blocks from the back), else
the CPU alone, else "does-not-fit" with the shortfall. `max_context` is the
largest multiple of 256, at most the trained context, that still fits with the
chosen placement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from picker.memory.machine import Machine
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.settings import Settings
from picker.memory.shape import ModelShape

CONTEXT_STEP = 256
UNKNOWN_TRAINED_CONTEXT = 131072  # cap when a header does not say


@dataclass(frozen=True)
class FitResult:
    plan: MemoryPlan
    max_context: int  # 0: not even 256 tokens fit
    n_gpu_layers_auto: bool


def choose_gpu_layers(shape: ModelShape, settings: Settings, machine: Machine) -> MemoryPlan:
    """The plan with the most layers on GPUs that fits; the least-short one if none fits."""
    if not machine.gpus:
        return plan_memory(shape, replace(settings, n_gpu_layers=0), machine)
    best: MemoryPlan | None = None
    for layers in range(shape.n_layer + 1, -1, -1):
        plan = plan_memory(shape, replace(settings, n_gpu_layers=layers), machine)
        if plan.fits:
            return plan
        if best is None or plan.shortfall_bytes < best.shortfall_bytes:
            best = plan
    assert best is not None
    return best


def max_context(shape: ModelShape, settings: Settings, machine: Machine) -> int:
    """Largest n_ctx (multiple of 256, <= trained context) that fits with these settings."""
    trained = shape.n_ctx_train or UNKNOWN_TRAINED_CONTEXT
    high = trained // CONTEXT_STEP
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        plan = plan_memory(shape, replace(settings, n_ctx=middle * CONTEXT_STEP), machine)
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
