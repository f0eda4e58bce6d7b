"""`picker fit TARGET`: will this model run here, at these settings, and where does each byte go?"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from picker.commands import common
from picker.errors import UsageError
from picker.output import CommandOutput

if TYPE_CHECKING:
    from picker.fitting import FitRequest


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


def fit_request(args: argparse.Namespace) -> FitRequest:
    """The FitRequest of `picker fit`'s flags."""
    from picker.fitting import FitRequest
    from picker.llama_settings import LlamaSettings

    return FitRequest(
        target=args.target,
        settings=LlamaSettings(
            n_batch=args.n_batch, n_ubatch=args.n_ubatch, n_gpu_layers=args.n_gpu_layers,
            flash_attn=args.flash_attn, swa_full=args.swa_full, type_k=args.cache_type_k,
            type_v=args.cache_type_v, n_cpu_moe=args.n_cpu_moe, n_seq_max=args.parallel,
            kv_unified=args.kv_unified),
        context=args.ctx, mmproj=args.mmproj, emit=args.emit, exact=args.exact,
        overrides=common.hardware_overrides(args))


def request_for(arguments: Sequence[str]) -> FitRequest:
    """The FitRequest of `picker fit ARGUMENTS` (TARGET and flags), parsed as the command line
    is: what the TUI asks fit for a row, with the command it shows for it."""
    parser = common.Parser(prog="picker")
    add_parser(parser.add_subparsers(dest="command", parser_class=common.Parser))
    return fit_request(parser.parse_args(["fit", *arguments]))


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.fitting import fit_inputs, fit_report

    hosts = None
    if args.hosts is not None or args.link is not None:  # several machines: checked first
        from picker.commands.fit_hosts import read_hosts_args

        hosts = read_hosts_args(args)
    request = fit_request(args)
    inputs = fit_inputs(request)
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

        return run_hosts(args, hosts, inputs.shape, inputs.source, inputs.settings)
    report = fit_report(request, inputs)
    return CommandOutput(document=report.document, text=report.text, warnings=report.warnings)
