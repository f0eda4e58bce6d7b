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
        settings = RuntimeSettings(
            n_ctx=request.n_ctx or planned_context(None), n_ubatch=request.n_ubatch,
            n_batch=max(512, request.n_ubatch), n_gpu_layers=request.n_gpu_layers or 0,
            flash_attn=request.flash_attn, type_k=request.type_k, type_v=request.type_v,
            n_threads=threads,
        )
        return RunPlan(settings, None, (f"no memory plan: {error.message}",))
    refuse_unsupported(shape.architecture)  # llama.cpp would fail in the child anyway
    n_ctx = request.n_ctx or planned_context(shape.n_ctx_train)  # what `recommend` plans with
    layers = request.n_gpu_layers
    wanted = Settings(
        n_ctx=n_ctx, n_batch=max(512, request.n_ubatch), n_ubatch=request.n_ubatch,
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
    settings = RuntimeSettings(
        n_gpu_layers=plan.gpu_layers, n_ctx=chosen.n_ctx, n_batch=chosen.n_batch,
        n_ubatch=chosen.n_ubatch, flash_attn=chosen.flash_attn, type_k=chosen.type_k,
        type_v=chosen.type_v, swa_full=chosen.swa_full, n_threads=threads,
    )
    return RunPlan(settings, plan)
