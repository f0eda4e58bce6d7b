"""The settings a smoke test or chat loads with: picker's memory plan for this machine.

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
from picker.runtime.settings import RuntimeSettings
from picker.units import format_size

if TYPE_CHECKING:
    from picker.memory.plan import MemoryPlan



@dataclass(frozen=True)
class PlanRequest:
    """What the user asked for; None leaves the choice to the plan."""

    n_ctx: int | None = None
    n_gpu_layers: int | None = None  # None: as many as fit; -1: all
    n_ubatch: int = 512
    n_batch: int = 512  # llama.cpp runs n_ubatch at most n_batch (and n_batch at most n_ctx)
    flash_attn: bool = False
    type_k: str = "f16"
    type_v: str = "f16"


@dataclass(frozen=True)
class RunPlan:
    settings: RuntimeSettings
    memory_plan: MemoryPlan | None
    warnings: tuple[str, ...] = ()


def plan_run(path: Path, snapshot: HardwareSnapshot, request: PlanRequest,
             allow_overcommit: bool = False) -> RunPlan:
    """Plan the load; without a readable header, llama.cpp's defaults and a warning."""
    from picker.gguf import read_header
    from picker.gguf.model import NotGGUFError
    from picker.memory.architectures import refuse_unsupported
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.settings import Settings
    from picker.memory.shape import shape_from_header
    from picker.memory.solver import fit
    from picker.rank.usecases import planned_context

    threads = snapshot.cpu.inference_threads
    try:
        shape = shape_from_header(read_header(path))
    except NotGGUFError:  # not a model file at all: nothing for llama.cpp to try
        raise
    except PickerError as error:  # llama.cpp will say what is wrong in its own words
        n_ctx = request.n_ctx or planned_context(None)
        n_batch = min(n_ctx, request.n_batch)
        settings = RuntimeSettings(
            n_ctx=n_ctx, n_ubatch=min(n_batch, request.n_ubatch),
            n_batch=n_batch, n_gpu_layers=request.n_gpu_layers or 0,
            flash_attn=request.flash_attn, type_k=request.type_k, type_v=request.type_v,
            n_threads=threads,
        )
        return RunPlan(settings, None, (f"no memory plan: {error.message}",
                                        *_clamp_warnings(request, settings.n_batch)))
    refuse_unsupported(shape.architecture)  # llama.cpp would fail in the child anyway
    n_ctx = request.n_ctx or planned_context(shape.n_ctx_train)  # what `recommend` plans with
    layers = request.n_gpu_layers
    wanted = Settings(
        n_ctx=n_ctx, n_batch=request.n_batch, n_ubatch=request.n_ubatch,
        n_gpu_layers=shape.n_layer + 1 if layers == -1 else layers,
        flash_attn=request.flash_attn, type_k=request.type_k, type_v=request.type_v,
    )
    plan = fit(shape, wanted, machine_from_snapshot(snapshot)).plan
    if not plan.fits and not allow_overcommit:
        raise InsufficientResourcesError(
            f"the memory plan says this does not fit: {format_size(plan.shortfall_bytes)} short "
            f"at n_ctx {n_ctx}; try a smaller --ctx, or --force to try anyway"
        )
    chosen = plan.settings
    settings = RuntimeSettings(  # the batch sizes llama.cpp will use, clamped as it does
        n_gpu_layers=plan.gpu_layers, n_ctx=chosen.n_ctx, n_batch=plan.effective.n_batch,
        n_ubatch=plan.effective.n_ubatch, flash_attn=chosen.flash_attn, type_k=chosen.type_k,
        type_v=chosen.type_v, swa_full=chosen.swa_full, n_threads=threads,
    )
    return RunPlan(settings, plan, _clamp_warnings(request, plan.effective.n_batch))


def _clamp_warnings(request: PlanRequest, n_batch: int) -> tuple[str, ...]:
    """Say so when llama.cpp will run a smaller micro-batch than --n-ubatch asked for."""
    if request.n_ubatch <= n_batch:
        return ()
    return (f"n_ubatch {n_batch}: llama.cpp clamps --n-ubatch {request.n_ubatch} to n_batch "
            f"{n_batch}; raise --n-batch too to use it",)
