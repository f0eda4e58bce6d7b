"""`picker fit` without its flags: a FitRequest in, the plan's document, text and warnings out.

`picker fit` builds the request from its flags (`picker.commands.fit.fit_request`), the TUI
from a ranked row (`picker.tui.fit_row`), so both say the same about a model on a machine.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.errors import UsageError
from picker.hardware.overrides import HardwareOverrides
from picker.llama_settings import LlamaSettings

if TYPE_CHECKING:
    from picker.gguf.remote import HubModel
    from picker.hardware.model import HardwareSnapshot
    from picker.memory.advisor import Advice
    from picker.memory.machine import Machine
    from picker.memory.plan import MemoryPlan
    from picker.memory.projector import Projector
    from picker.memory.shape import ModelShape
    from picker.memory.solver import FitResult

EXACT_CPU_MOE_NOTE = (
    "experts on the CPU are not in llama.cpp's dry run: llama-cpp-python 0.3.36 passes no "
    "tensor overrides (its Llama class takes none; llama_model_params.tensor_buft_overrides is "
    "marked unused), so the dry run keeps experts with their layer and the per-device split of "
    "--n-cpu-moe is picker's own")


@dataclass(frozen=True)
class FitRequest:
    """What `picker fit TARGET` is asked; None leaves a value to picker."""

    target: str  # a TARGET as picker.targets reads it
    # As asked: n_gpu_layers None is auto and -1 all, n_cpu_moe None auto; n_ctx is `context`'s
    settings: LlamaSettings = field(default_factory=LlamaSettings)
    context: int | None = None  # tokens; 0: the trained context; None: what recommend plans
    mmproj: str | None = None  # a vision projector's file, planned on the main GPU
    emit: str | None = None  # a picker.memory.emit format: the plan ready to run
    exact: bool = False  # also ask llama.cpp (a no-alloc dry run)
    overrides: HardwareOverrides = field(default_factory=HardwareOverrides)


@dataclass(frozen=True)
class FitInputs:
    """The model's shape, what --exact reads (a path, a Hub model or nothing) and the
    settings planned with (the context and GPU layers resolved)."""

    shape: ModelShape
    source: Path | HubModel | None
    settings: LlamaSettings


@dataclass(frozen=True)
class FitReport:
    document: dict[str, Any]  # `picker fit --json`
    text: str
    warnings: list[str]


def fit_inputs(request: FitRequest) -> FitInputs:
    """Read the target and settle the settings; refuses --n-cpu-moe for a dense model."""
    from picker.rank.usecases import planned_context
    from picker.targets.shape import load_shape

    shape, source = load_shape(request.target, request.exact, request.overrides)
    asked = request.settings
    n_ctx = planned_context(shape.n_ctx_train) if request.context is None else request.context
    all_layers = shape.n_layer + 1
    settings = asked._replace(n_ctx=n_ctx, n_gpu_layers=(all_layers if asked.n_gpu_layers == -1
                                                         else asked.n_gpu_layers))
    if asked.n_cpu_moe != 0 and not shape.n_expert:
        raise UsageError(f"{request.target} is not a mixture of experts ({shape.architecture}); "
                         "--n-cpu-moe and --cpu-moe apply to MoE models only")
    return FitInputs(shape, source, settings)


def fit_report(request: FitRequest, inputs: FitInputs) -> FitReport:
    """Plan on this machine (or the what-if one): where each byte goes, the speed, the
    advisor's changes, and what --exact and --emit add."""
    from picker.hardware.probe import probe_hardware
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.report import fit_document, fit_text
    from picker.memory.solver import fit

    shape, path, settings = inputs.shape, inputs.source, inputs.settings
    snapshot = probe_hardware(request.overrides)
    machine = machine_from_snapshot(snapshot)
    projector = None
    if request.mmproj is not None:
        from picker.memory.projector import read_projector, reserve

        machine, projector = reserve(machine, read_projector(request.mmproj, settings.flash_attn))
    result = fit(shape, settings, machine)
    resplit = _resplit_words(shape, settings, machine, result.plan)
    document = fit_document(result, request.target)
    document["projector"] = None if projector is None else projector.to_dict()
    speed_document, speed_text, speed_warnings = _speed(snapshot, shape, result.plan, request.target)
    document["speed"] = speed_document
    chosen = _defaults_used(request, settings.n_ctx)
    if resplit is not None:
        chosen["n_cpu_moe"] += f"; {resplit}"
    if settings.n_ubatch > result.plan.effective.n_batch:
        chosen["n_ubatch"] = (f"n_ubatch {result.plan.effective.n_ubatch}: llama.cpp clamps "
                              f"--n-ubatch {settings.n_ubatch} to n_batch "
                              f"{result.plan.effective.n_batch}; raise --n-batch too to use it")
    document["defaults_used"] = chosen
    advice = _advice(snapshot, machine, settings, result.plan, request.target)
    document["advice"] = None if advice is None else advice.to_dict()
    text = (fit_text(result, request.target)
            + ("" if projector is None else f"\n{projector.text()}") + f"\n{speed_text}"
            + "".join(f"\n{line}" for line in chosen.values())
            + ("" if advice is None else "".join(f"\nadvice: {line}" for line in advice.lines())))
    warnings: list[str] = list(speed_warnings)
    if shape.estimated:
        warnings.append(f"{request.target}: no header at hand; sizes are estimated "
                        f"({shape.estimate_note})")
    if request.exact:
        exact_document, exact_text = _exact(result, path)
        document["exact"] = exact_document
        text += "\n" + exact_text
    if request.emit is not None:
        text = _emit(request, request.emit, result.plan, path, document, warnings, projector)
    return FitReport(document, text, warnings)


def _emit(request: FitRequest, form: str, plan: MemoryPlan, source: Path | HubModel | None,
          document: dict[str, Any], warnings: list[str], projector: Projector | None = None) -> str:
    """--emit: the plan as the runner's own command, snippet or file; what the format
    cannot say goes to the warnings (and the JSON), never dropped."""
    from picker.memory.emit import emit
    from picker.targets.files import model_arguments

    emitted = emit(plan, model_arguments(request.target, source), form)
    if projector is not None and request.mmproj is not None:
        if form in ("llama-server", "llama-cli"):
            emitted = emitted._replace(text=f"{emitted.text} --mmproj "
                                       f"{shlex.quote(str(Path(request.mmproj).expanduser()))}")
        else:
            emitted = emitted._replace(notes=(*emitted.notes, (
                f"the vision projector {projector.file} is planned but not in this output; "
                "load it with the runner's own projector setting")))
    if not plan.fits:
        warnings.append(f"--emit {form}: this plan does not fit here (short by "
                        f"{plan.shortfall_bytes / 2**20:,.0f} MiB); it would fail to load")
    warnings += [f"--emit {form}: {note}" for note in emitted.notes]
    document["emit"] = {"format": form, "text": emitted.text, "notes": list(emitted.notes)}
    return emitted.text


def _resplit_words(shape: ModelShape, settings: LlamaSettings, machine: Machine,
                   plan: MemoryPlan) -> str | None:
    """Why --n-cpu-moe auto pinned a --tensor-split on several GPUs: the moved experts are the
    first blocks', which llama.cpp's split by free memory puts on the first GPU. None where
    the plan keeps llama.cpp's own split."""
    from picker.memory.expert_split import plan_shares
    from picker.memory.plan import plan_memory
    from picker.memory.solver import choose_cpu_moe

    if settings.n_cpu_moe is not None or len(machine.gpus) < 2 or not plan.settings.n_cpu_moe:
        return None
    if plan_shares(plan_memory(shape, plan.settings, machine)) == plan_shares(plan):
        return None
    default = choose_cpu_moe(shape, settings, machine)
    return (f"with the blocks re-split, --tensor-split {','.join(map(str, plan_shares(plan)))} "
            "(llama.cpp's split by free memory puts the first blocks, whose experts move, on "
            "the first GPU: " + (f"--n-cpu-moe {default.settings.n_cpu_moe} there" if default.fits
                                 else "it does not fit there") + ")")


def _advice(snapshot: HardwareSnapshot, machine: Machine, settings: LlamaSettings,
            plan: MemoryPlan, target: str) -> Advice | None:
    """The settings advisor's changes for a plan that does not fit, or fits only partly,
    each with its speed from the same estimate as the plan's."""
    from picker.memory.advisor import advise_on_machine
    from picker.speed.calibration import weight_type_in
    from picker.speed.cpu_bandwidth import cpu_bandwidth
    from picker.speed.plan_speed import plan_speed

    weight_type = weight_type_in(target)
    measured = cpu_bandwidth()

    def speed_of(candidate: MemoryPlan) -> float:
        return float(plan_speed(snapshot, candidate.shape, candidate, weight_type,
                                measured).tokens_per_second)

    return advise_on_machine(settings, plan, machine, speed_of)


def _speed(snapshot: HardwareSnapshot, shape: ModelShape, plan: MemoryPlan,
           target: str) -> tuple[dict[str, Any], str, list[str]]:
    """The estimated generation and prompt speed for exactly this plan (placement, layers,
    context), with its basis, so it can be checked against llama-bench."""
    from picker.speed.calibration import weight_type_in
    from picker.speed.cpu_bandwidth import cpu_bandwidth
    from picker.speed.plan_speed import plan_speed

    if not plan.fits:
        return {"estimate": None, "reason": "the plan does not fit"}, \
            "speed: none (the plan does not fit)", []
    weight_type = weight_type_in(target)
    estimate = plan_speed(snapshot, shape, plan, weight_type, cpu_bandwidth())
    document = estimate.to_dict()
    document.update({
        "for": {"n_ctx": plan.effective.n_ctx, "n_gpu_layers": plan.gpu_layers,
                "placement": plan.placement, "weight_type": weight_type or None},
        "generation_tokens_per_second": round(estimate.tokens_per_second, 1),
        "prompt_tokens_per_second": (None if estimate.prompt_tokens_per_second is None
                                     else round(estimate.prompt_tokens_per_second)),
    })
    prompt = (f", prompt ~{estimate.prompt_tokens_per_second:,.0f} tokens/s"
              if estimate.prompt_tokens_per_second else "")
    text = (f"speed: ~{estimate.tokens_per_second:.1f} tokens/s generation at a half-full context "
            f"(range {estimate.low_tokens_per_second:.1f}-{estimate.high_tokens_per_second:.1f}; "
            f"~{estimate.empty_context_tokens_per_second or 0:.1f} at an empty one, as llama-bench's "
            f"tg128 measures){prompt}, "
            f"estimated for n_ctx {plan.effective.n_ctx} and n_gpu_layers {plan.gpu_layers}; "
            f"basis: {'; '.join(estimate.bandwidth_sources)}")
    from picker.speed.estimate import machine_bandwidths

    # two alike unknown GPUs make one assumption: said once
    warnings = list(dict.fromkeys(f"speed: {bw.assumption}" for bw in
                                  machine_bandwidths(snapshot, None).values() if bw.assumption))
    return document, text, warnings


def _defaults_used(request: FitRequest, n_ctx: int) -> dict[str, str]:
    """Why n_ctx and n_gpu_layers are what they are, when the user left them to picker."""
    chosen: dict[str, str] = {}
    if request.context is None:
        chosen["n_ctx"] = (f"n_ctx {n_ctx}: what `picker recommend` plans with (the general use "
                           "case's context, or the trained one if shorter); --ctx N to change")
    if request.settings.n_gpu_layers is None:
        chosen["n_gpu_layers"] = ("n_gpu_layers auto: as many layers on the GPU(s) as fit, as "
                                  "recommend, smoke and chat choose; --n-gpu-layers N to change")
    if request.settings.n_cpu_moe is None:
        chosen["n_cpu_moe"] = ("n_cpu_moe auto: the fewest layers whose experts stay on the CPU "
                               "for the GPU(s) to hold the rest; --n-cpu-moe N to change")
    return chosen


def _exact(result: FitResult, source: Path | HubModel | None) -> tuple[dict[str, Any], str]:
    """llama.cpp's own dry run; a Hub model is stood in for by sparse local copies of its files."""
    import tempfile

    from picker.runtime.availability import require_llama_cpp

    if source is None:
        raise UsageError("--exact needs a .gguf file, an hf:// target or a catalog id; "
                         "give the file")
    require_llama_cpp()  # the dry run is llama.cpp's: say how to install it, not a child's error
    if isinstance(source, Path):
        from picker.gguf.split import split_part_names

        parts = split_part_names(source.name)
        first = source.with_name(parts[0]) if parts else source  # llama.cpp wants part 1
        document, text = _exact_on(result, first)
        document["file"] = str(first)
    else:
        from picker.memory.sparse_copy import sparse_copy

        with tempfile.TemporaryDirectory(prefix="picker-exact-") as folder:
            document, text = _exact_on(result, sparse_copy(source, Path(folder)))
        document["file"] = f"hf://{source.repo_id}/{source.parts[0].filename}"
        document["commit"] = source.commit
    return document, f"{text}\nllama.cpp read the header of {document['file']}"


def _exact_on(result: FitResult, path: Path) -> tuple[dict[str, Any], str]:

    from picker.memory.compare import compare
    from picker.memory.llama_probe import ProbeRequest, run_probe
    from picker.memory.report import comparison_document, comparison_text

    plan = result.plan
    settings = plan.settings
    context = settings._replace(n_ctx=plan.effective.n_ctx)
    request = ProbeRequest(model_path=str(path), contexts=(context,),
                           n_gpu_layers=plan.gpu_layers)
    (probe,) = run_probe(request)
    if not probe.ok:
        from picker.errors import RuntimeFailureError

        raise RuntimeFailureError(f"llama.cpp's dry run failed: {probe.error}")
    rows = compare(plan, probe.log, dry_run=True)
    document, text = comparison_document(rows), comparison_text(rows)
    if plan.cpu_moe_bytes:
        document["experts_on_cpu_checked"] = False
        text += "\n" + EXACT_CPU_MOE_NOTE
    return document, text
