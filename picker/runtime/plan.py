"""The settings a smoke test, chat or served model loads with: picker's memory plan for this machine.

The plan chooses n_gpu_layers (as many as fit) and checks that the context fits;
its n_ctx, n_ubatch, flash attention, KV cache types and swa_full go to the child
unchanged, so the measurement tests exactly what picker recommends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from picker.errors import InsufficientResourcesError, PickerError
from picker.hardware.model import HardwareSnapshot
from picker.llama_settings import LlamaSettings
from picker.units import format_size

if TYPE_CHECKING:
    from picker.memory.plan import MemoryPlan
    from picker.memory.projector import Projector



@dataclass(frozen=True)
class RunPlan:
    settings: LlamaSettings
    memory_plan: MemoryPlan | None
    warnings: tuple[str, ...] = ()


def plan_run(path: Path, snapshot: HardwareSnapshot, wanted: LlamaSettings, *,
             context: int | None = None, allow_overcommit: bool = False,
             projector: Projector | None = None) -> RunPlan:
    """Plan the load; without a readable header, the settings asked for and a warning.

    `context` is the n_ctx asked for (None: what `recommend` plans for this model; the
    n_ctx in `wanted` is not used); `wanted.n_gpu_layers` None: as many as fit, -1: all.
    A vision `projector` is taken from the main GPU's free memory first, as `picker fit
    --mmproj` plans it.
    """
    from picker.gguf import read_header
    from picker.gguf.model import NotGGUFError
    from picker.memory.architectures import refuse_unsupported
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.shape import shape_from_header
    from picker.memory.solver import fit
    from picker.rank.usecases import planned_context

    threads = snapshot.cpu.inference_threads
    try:
        shape = shape_from_header(read_header(path))
    except NotGGUFError:  # not a model file at all: nothing for llama.cpp to try
        raise
    except PickerError as error:  # llama.cpp will say what is wrong in its own words
        n_ctx = context or planned_context(None)
        n_batch = min(n_ctx, wanted.n_batch)
        settings = wanted._replace(n_ctx=n_ctx, n_batch=n_batch,
                           n_ubatch=min(n_batch, wanted.n_ubatch),
                           n_gpu_layers=wanted.n_gpu_layers or 0, n_threads=threads)
        settings.check()  # what the plan would have refused, refused before a child starts
        return RunPlan(settings, None, (f"no memory plan: {error.message}",
                                        *_clamp_warnings(wanted, settings.n_batch)))
    refuse_unsupported(shape.architecture)  # llama.cpp would fail in the child anyway
    n_ctx = context or planned_context(shape.n_ctx_train)  # what `recommend` plans with
    layers = wanted.n_gpu_layers
    asked = wanted._replace(n_ctx=n_ctx, n_gpu_layers=shape.n_layer + 1 if layers == -1 else layers)
    machine = machine_from_snapshot(snapshot)
    if projector is not None:
        from picker.memory.projector import reserve

        machine, _ = reserve(machine, projector)
    plan = fit(shape, asked, machine).plan
    if not plan.fits and not allow_overcommit:
        raise InsufficientResourcesError(
            f"the memory plan says this does not fit: {format_size(plan.shortfall_bytes)} short "
            f"at n_ctx {n_ctx}; try a smaller --ctx, or --force to try anyway"
        )
    settings = plan.settings._replace(  # the batch sizes llama.cpp will use, as clamped
        n_gpu_layers=plan.gpu_layers, n_batch=plan.effective.n_batch,
        n_ubatch=plan.effective.n_ubatch, n_threads=threads,
    )
    return RunPlan(settings, plan, _clamp_warnings(wanted, plan.effective.n_batch))


def _clamp_warnings(wanted: LlamaSettings, n_batch: int) -> tuple[str, ...]:
    """Say so when llama.cpp will run a smaller micro-batch than --n-ubatch asked for."""
    if wanted.n_ubatch <= n_batch:
        return ()
    return (f"n_ubatch {n_batch}: llama.cpp clamps --n-ubatch {wanted.n_ubatch} to n_batch "
            f"{n_batch}; raise --n-batch too to use it",)
