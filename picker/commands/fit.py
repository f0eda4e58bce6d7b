"""`picker fit TARGET`: will this model run here, at these settings, and where does each byte go?"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from picker.commands import common
from picker.errors import UsageError
from picker.output import CommandOutput

EXACT_CPU_MOE_NOTE = (
    "experts on the CPU are not in llama.cpp's dry run: llama-cpp-python 0.3.36 passes no "
    "tensor overrides (its Llama class takes none; llama_model_params.tensor_buft_overrides is "
    "marked unused), so the dry run keeps experts with their layer and the per-device split of "
    "--n-cpu-moe is picker's own")


def _on_off(flag: str) -> Any:
    def parse(text: str) -> bool:
        value = text.strip().lower()
        if value in ("on", "true", "1", "yes"):
            return True
        if value in ("off", "false", "0", "no"):
            return False
        raise argparse.ArgumentTypeError(f"{flag}: use on or off, not {text!r}")

    return parse


def _auto_or_whole(flag: str, noun: str, minimum: int, below: str) -> Any:
    """An argparse type for `auto` (None: picker's solver chooses) or a whole number >= `minimum`."""

    def parse(text: str) -> int | None:
        if text.strip().lower() == "auto":
            return None
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: use auto or {noun}, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag}: {below}")
        return value

    return parse


_gpu_layers = _auto_or_whole("--n-gpu-layers", "a whole number", -1, "use auto, -1 (all) or 0 and up")
_cpu_moe_layers = _auto_or_whole("--n-cpu-moe", "a whole number of layers", 0,
                                 "use auto or 0 and up (--cpu-moe: all)")


def _count(flag: str, minimum: int) -> Any:
    return common.whole_number(flag, minimum)


def add_parser(subparsers: Any) -> None:
    from picker.llama_settings import CACHE_TYPES
    from picker.llama_settings import LLAMA_CPP_PYTHON_DEFAULTS as DEFAULTS

    parser = subparsers.add_parser(
        "fit", help="plan memory for a model: weights, KV cache, compute, per device",
        description="Plan where every byte of a model goes (weights, KV cache, compute and "
        "output buffers, a stated margin) on each device, against FREE memory. Defaults are "
        "the settings picker's llama.cpp runtime (llama-cpp-python) loads with.",
    )
    parser.add_argument("target", metavar="TARGET",
                        help="a local .gguf file, hf://OWNER/REPO/FILE.gguf[@REV], "
                        "or a catalog id with its quantization (MODEL:QUANT)")
    parser.add_argument("--ctx", type=common.context_tokens("--ctx", 0), default=None, metavar="N",
                        help="context length in tokens (0: the trained context; default: what "
                        "`picker recommend` plans with, the general use case's 8192, or the "
                        "trained context if shorter)")
    parser.add_argument("--n-gpu-layers", type=_gpu_layers, default=None,
                        metavar="auto|N", help="layers to offload to the GPU(s); auto: as many "
                        "as fit (default auto, as recommend, smoke and chat plan)")
    parser.add_argument("--n-ubatch", type=_count("--n-ubatch", 1), default=DEFAULTS.n_ubatch,
                        metavar="N", help=f"physical batch size (default {DEFAULTS.n_ubatch}; "
                        "llama.cpp uses at most --n-batch)")
    parser.add_argument("--n-batch", type=_count("--n-batch", 1), default=DEFAULTS.n_batch,
                        metavar="N", help=f"logical batch size (default {DEFAULTS.n_batch}, "
                        "llama-cpp-python's; llama-server's is 2048)")
    parser.add_argument("--flash-attn", type=_on_off("--flash-attn"),
                        default=DEFAULTS.flash_attn, metavar="on|off",
                        help="flash attention (default off)")
    parser.add_argument("--cache-type-k", default=DEFAULTS.type_k, metavar="TYPE",
                        choices=sorted(CACHE_TYPES), help="K cache type (default f16)")
    parser.add_argument("--cache-type-v", default=DEFAULTS.type_v, metavar="TYPE",
                        choices=sorted(CACHE_TYPES), help="V cache type (default f16)")
    parser.add_argument("--swa-full", type=_on_off("--swa-full"), default=DEFAULTS.swa_full,
                        metavar="on|off", help="full-size sliding-window cache (default on, "
                        "llama.cpp's C default that llama-cpp-python keeps)")
    parser.add_argument("--parallel", "-np", type=common.whole_number("--parallel", 1, 256),
                        default=DEFAULTS.n_seq_max, metavar="N", dest="parallel",
                        help="parallel sequences (llama-server's slots; default 1). Without "
                        "--kv-unified each slot gets --ctx / N tokens of its own")
    parser.add_argument("--kv-unified", type=_on_off("--kv-unified"), default=False,
                        metavar="on|off", help="one KV cache all slots share, each may use "
                        "all of --ctx (default off; llama-server turns it on when it picks "
                        "its own slot count)")
    parser.add_argument("--mmproj", default=None, metavar="PATH",
                        help="a vision model's projector (mmproj-*.gguf): its weights (from "
                        "its header) and an estimated compute buffer are planned on the main "
                        "GPU, as llama.cpp's multimodal loader places it")
    experts = parser.add_mutually_exclusive_group()
    experts.add_argument("--n-cpu-moe", type=_cpu_moe_layers, default=0, metavar="auto|N",
                         help="keep the MoE expert tensors (ffn_*_exps) of the first N layers "
                         "in host memory, as llama-server's --n-cpu-moe; auto: the fewest "
                         "that let the GPU(s) hold the rest (default 0)")
    experts.add_argument("--cpu-moe", dest="n_cpu_moe", action="store_const", const=-1,
                         help="keep every layer's MoE expert tensors in host memory")
    from picker.memory.emit import FORMATS

    parser.add_argument("--emit", choices=FORMATS, default=None, metavar="FORMAT",
                        help="print the plan ready to run instead of the table: a llama-server "
                        "or llama-cli command line, a llama-cpp-python snippet, an Ollama "
                        f"Modelfile or an LM Studio preset ({', '.join(FORMATS)})")
    parser.add_argument("--exact", action="store_true",
                        help="also ask llama.cpp itself (a no-alloc dry run) and show both")
    from picker.commands.fit_hosts import add_arguments as add_hosts_arguments

    add_hosts_arguments(parser)
    common.add_json_flag(parser)
    common.add_hardware_overrides(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.hardware.probe import probe_hardware
    from picker.llama_settings import LlamaSettings
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.report import fit_document, fit_text
    from picker.memory.solver import fit
    from picker.rank.usecases import planned_context
    from picker.targets.shape import load_shape

    hosts = None
    if args.hosts is not None or args.link is not None:  # several machines: checked first
        from picker.commands.fit_hosts import read_hosts_args

        hosts = read_hosts_args(args)
    shape, path = load_shape(args.target, args.exact, common.hardware_overrides(args))
    gpu_layers = args.n_gpu_layers
    n_ctx = planned_context(shape.n_ctx_train) if args.ctx is None else args.ctx
    settings = LlamaSettings(
        n_ctx=n_ctx, n_batch=args.n_batch, n_ubatch=args.n_ubatch,
        n_gpu_layers=shape.n_layer + 1 if gpu_layers == -1 else gpu_layers,
        flash_attn=args.flash_attn, swa_full=args.swa_full,
        type_k=args.cache_type_k, type_v=args.cache_type_v, n_cpu_moe=args.n_cpu_moe,
        n_seq_max=args.parallel, kv_unified=args.kv_unified,
    )
    if args.n_cpu_moe != 0 and not shape.n_expert:
        raise UsageError(f"{args.target} is not a mixture of experts ({shape.architecture}); "
                         "--n-cpu-moe and --cpu-moe apply to MoE models only")
    if hosts is not None:
        if args.n_cpu_moe != 0:
            raise UsageError("--n-cpu-moe and --cpu-moe are not planned across --hosts yet; "
                             "plan experts on the CPU for this machine alone")
        if args.mmproj is not None:
            raise UsageError("--mmproj is not planned across --hosts yet; plan the vision "
                             "model for this machine alone")
        if args.emit is not None:
            raise UsageError("--emit does not apply with --hosts: the hosts plan prints each "
                             "host's ggml-rpc-server line and the main llama-server line itself")
        from picker.commands.fit_hosts import run_hosts

        return run_hosts(args, hosts, shape, path, settings)
    snapshot = probe_hardware(common.hardware_overrides(args))
    machine = machine_from_snapshot(snapshot)
    projector = None
    if args.mmproj is not None:
        from picker.memory.projector import read_projector, reserve

        machine, projector = reserve(machine, read_projector(args.mmproj))
    result = fit(shape, settings, machine)
    resplit = _resplit_words(shape, settings, machine, result.plan)
    document = fit_document(result, args.target)
    document["projector"] = None if projector is None else projector.to_dict()
    speed_document, speed_text, speed_warnings = _speed(snapshot, shape, result.plan, args.target)
    document["speed"] = speed_document
    chosen = _defaults_used(args, n_ctx)
    if resplit is not None:
        chosen["n_cpu_moe"] += f"; {resplit}"
    if args.n_ubatch > result.plan.effective.n_batch:
        chosen["n_ubatch"] = (f"n_ubatch {result.plan.effective.n_ubatch}: llama.cpp clamps "
                              f"--n-ubatch {args.n_ubatch} to n_batch "
                              f"{result.plan.effective.n_batch}; raise --n-batch too to use it")
    document["defaults_used"] = chosen
    advice = _advice(snapshot, machine, settings, result.plan, args.target)
    document["advice"] = None if advice is None else advice.to_dict()
    text = (fit_text(result, args.target)
            + ("" if projector is None else f"\n{projector.text()}") + f"\n{speed_text}"
            + "".join(f"\n{line}" for line in chosen.values())
            + ("" if advice is None else "".join(f"\nadvice: {line}" for line in advice.lines())))
    warnings: list[str] = list(speed_warnings)
    if shape.estimated:
        warnings.append(f"{args.target}: no header at hand; sizes are estimated "
                        f"({shape.estimate_note})")
    if args.exact:
        exact_document, exact_text = _exact(result, path)
        document["exact"] = exact_document
        text += "\n" + exact_text
    if args.emit is not None:
        text = _emit(args, result.plan, path, document, warnings, projector)
    return CommandOutput(document=document, text=text, warnings=warnings)


def _emit(args: argparse.Namespace, plan: Any, source: Any, document: dict[str, Any],
          warnings: list[str], projector: Any = None) -> str:
    """--emit: the plan as the runner's own command, snippet or file; what the format
    cannot say goes to the warnings (and the JSON), never dropped."""
    from picker.memory.emit import emit
    from picker.targets.files import model_arguments

    emitted = emit(plan, model_arguments(args.target, source), args.emit)
    if projector is not None:
        if args.emit in ("llama-server", "llama-cli"):
            emitted = emitted._replace(text=f"{emitted.text} --mmproj "
                                       f"{shlex.quote(str(Path(args.mmproj).expanduser()))}")
        else:
            emitted = emitted._replace(notes=(*emitted.notes, (
                f"the vision projector {projector.file} is planned but not in this output; "
                "load it with the runner's own projector setting")))
    if not plan.fits:
        warnings.append(f"--emit {args.emit}: this plan does not fit here (short by "
                        f"{plan.shortfall_bytes / 2**20:,.0f} MiB); it would fail to load")
    warnings += [f"--emit {args.emit}: {note}" for note in emitted.notes]
    document["emit"] = {"format": args.emit, "text": emitted.text, "notes": list(emitted.notes)}
    return emitted.text


def _resplit_words(shape: Any, settings: Any, machine: Any, plan: Any) -> str | None:
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


def _advice(snapshot: Any, machine: Any, settings: Any, plan: Any, target: str) -> Any:
    """The settings advisor's changes for a plan that does not fit, or fits only partly,
    each with its speed from the same estimate as the plan's."""
    from picker.memory.advisor import advise_on_machine
    from picker.speed.calibration import weight_type_in
    from picker.speed.cpu_bandwidth import cpu_bandwidth
    from picker.speed.plan_speed import plan_speed

    weight_type = weight_type_in(target)
    measured = cpu_bandwidth()

    def speed_of(candidate: Any) -> float:
        return float(plan_speed(snapshot, candidate.shape, candidate, weight_type,
                                measured).tokens_per_second)

    return advise_on_machine(settings, plan, machine, speed_of)


def _speed(snapshot: Any, shape: Any, plan: Any, target: str) -> tuple[dict[str, Any], str, list[str]]:
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

    warnings = [f"speed: {bw.assumption}" for bw in
                machine_bandwidths(snapshot, None).values() if bw.assumption]
    return document, text, warnings


def _defaults_used(args: argparse.Namespace, n_ctx: int) -> dict[str, str]:
    """Why n_ctx and n_gpu_layers are what they are, when the user left them to picker."""
    chosen: dict[str, str] = {}
    if args.ctx is None:
        chosen["n_ctx"] = (f"n_ctx {n_ctx}: what `picker recommend` plans with (the general use "
                           "case's context, or the trained one if shorter); --ctx N to change")
    if args.n_gpu_layers is None:
        chosen["n_gpu_layers"] = ("n_gpu_layers auto: as many layers on the GPU(s) as fit, as "
                                  "recommend, smoke and chat choose; --n-gpu-layers N to change")
    if args.n_cpu_moe is None:
        chosen["n_cpu_moe"] = ("n_cpu_moe auto: the fewest layers whose experts stay on the CPU "
                               "for the GPU(s) to hold the rest; --n-cpu-moe N to change")
    return chosen


def _exact(result: Any, source: Any) -> tuple[dict[str, Any], str]:
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


def _exact_on(result: Any, path: Path) -> tuple[dict[str, Any], str]:

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
