"""`picker smoke TARGET`: load the model for real here, run a short prompt, measure, remember."""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING, Any

from picker.commands import common
from picker.output import CommandOutput
from picker.units import format_size

if TYPE_CHECKING:
    from picker.runtime.smoke import SmokeRequest
    from picker.targets.on_disk import ModelTarget


def _seconds(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not a number of seconds") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{flag}: must be more than 0 seconds, got {text}")
        return value

    return parse


def add_runtime_arguments(parser: argparse.ArgumentParser, answers: bool = True) -> None:
    """TARGET and the load settings smoke, chat and serve share (`answers`: the
    --generation-timeout of a command that generates itself; serve's clients do)."""
    from picker.commands.fit import _count, _gpu_layers, _on_off
    from picker.llama_settings import CACHE_TYPES

    parser.add_argument("target", metavar="TARGET",
                        help="a local .gguf file, hf://OWNER/REPO/FILE.gguf[@REV], "
                        "or a catalog id with its quantization (MODEL:QUANT)")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="download the model without asking when it is not here yet")
    parser.add_argument("--ctx", type=common.context_tokens("--ctx", 1), default=None, metavar="N",
                        help="context length (default: what `picker recommend` plans with, the "
                        "general use case's 8192, or the model's trained context if shorter)")
    parser.add_argument("--n-gpu-layers", type=_gpu_layers, default=None, metavar="auto|N",
                        help="layers on the GPU(s) (default auto: as many as the plan fits)")
    parser.add_argument("--n-ubatch", type=_count("--n-ubatch", 1), default=512, metavar="N",
                        help="physical batch size (default 512; llama.cpp uses at most "
                        "--n-batch)")
    parser.add_argument("--n-batch", type=_count("--n-batch", 1), default=512, metavar="N",
                        help="logical batch size (default 512, llama-cpp-python's; "
                        "llama-server's is 2048)")
    parser.add_argument("--flash-attn", type=_on_off("--flash-attn"), default=False,
                        metavar="on|off", help="flash attention (default off)")
    parser.add_argument("--cache-type-k", default="f16", choices=CACHE_TYPES, metavar="TYPE",
                        help="K cache type (default f16)")
    parser.add_argument("--cache-type-v", default="f16", choices=CACHE_TYPES, metavar="TYPE",
                        help="V cache type (default f16; quantized needs --flash-attn on)")
    parser.add_argument("--load-timeout", type=_seconds("--load-timeout"), default=None,
                        metavar="SECONDS",
                        help="stop llama.cpp if loading takes longer (default 300, more for "
                        "files over 15 GB: their size at 50 MB/s)")
    if answers:
        parser.add_argument("--generation-timeout", type=_seconds("--generation-timeout"),
                            default=300.0, metavar="SECONDS",
                            help="stop llama.cpp if one answer takes longer (default 300)")
    parser.add_argument("--force", action="store_true",
                        help="load even when the memory plan says it does not fit")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "smoke", help="load a model for real, run a short prompt, measure speed and memory",
        description="Load the model with llama.cpp (in a child process) using picker's memory "
        "plan, run a short fixed prompt, and report load time, time to first token, prompt and "
        "generation tokens/s, peak memory, and llama.cpp's buffers next to the plan. The result "
        "is saved in the history (`picker history`). Needs llama-cpp-python.",
    )
    add_runtime_arguments(parser)
    common.add_json_flag(parser)
    parser.set_defaults(handler=run)


def plan_request(args: argparse.Namespace) -> Any:
    """The llama.cpp settings asked for (the context goes to `plan_run` as `context=args.ctx`)."""
    from picker.llama_settings import LlamaSettings

    return LlamaSettings(n_gpu_layers=args.n_gpu_layers, n_ubatch=args.n_ubatch,
                         n_batch=args.n_batch, flash_attn=args.flash_attn,
                         type_k=args.cache_type_k, type_v=args.cache_type_v)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.commands.runtime_setup import ensure_runtime
    from picker.hardware.probe import probe_hardware
    from picker.targets.on_disk import is_local, resolve_model

    # A local file is checked first: one that is not a GGUF is refused before anything else.
    local = resolve_model(args.target) if is_local(args.target) else None
    ensure_runtime(probe_hardware(), as_json=bool(getattr(args, "json", False)))
    return smoke_target(local or resolve_model(args.target, assume_yes=args.yes), smoke_request(args))


def smoke_request(args: argparse.Namespace) -> SmokeRequest:
    """The smoke test the flags ask for."""
    from picker.runtime.smoke import SmokeRequest

    return SmokeRequest(settings=plan_request(args), context=args.ctx,
                        load_timeout_seconds=args.load_timeout,
                        generation_timeout_seconds=args.generation_timeout, force=args.force)


def smoke_target(target: ModelTarget, request: SmokeRequest,
                 cancel: threading.Event | None = None) -> CommandOutput:
    """The smoke test of a model already on disk, rendered; the TUI calls this too, with
    `cancel` for its x key."""
    from picker.runtime.smoke import smoke_test

    result = smoke_test(target, request, cancel)
    return CommandOutput(document={"smoke": result.document}, text=render(result.document),
                         exit_code=result.exit_code, warnings=result.warnings)


def _number(value: float | None, unit: str, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def render(document: dict[str, Any]) -> str:
    settings = document["settings"]
    verdict = "PASSED" if document["passed"] else f"FAILED: {document['reason']}"
    lines = [
        f"smoke test of {document['model']['target']}: {verdict}",
        f"settings: n_ctx {settings['n_ctx']}, n_gpu_layers {settings['n_gpu_layers']}, "
        f"n_ubatch {settings['n_ubatch']}, flash attention {'on' if settings['flash_attn'] else 'off'}, "
        f"KV cache {settings['type_k']}/{settings['type_v']}",
    ]
    if document["load_seconds"] is not None:
        gpu = document["gpu_memory_used_bytes"]
        lines += [
            f"load {_number(document['load_seconds'], 's')}, "
            f"first token {_number(document['time_to_first_token_seconds'], 's')}",
            f"prompt {_number(document['prompt_tokens_per_second'], 'tokens/s', 1)}, "
            f"generation {_number(document['generation_tokens_per_second'], 'tokens/s', 1)}",
            f"peak RSS of llama.cpp {format_size(document['peak_rss_bytes'])}, "
            f"GPU memory used {'n/a (no GPU)' if gpu is None else format_size(gpu)}",
        ]
    memory = document["memory"]
    if memory["devices"] and memory["measured_bytes"] is not None:
        lines.append("memory (llama.cpp's buffers vs picker's plan):")
        for device in memory["devices"]:
            lines.append(_memory_line(device["device"], device))
        lines.append(_memory_line("total", memory))
    if document["text"]:
        lines.append("output: " + " ".join(document["text"].split()))
    lines.append(f"saved to the history as run {document['history_id']}")
    return "\n".join(lines)


def _memory_line(label: str, row: dict[str, Any]) -> str:
    estimated = row["estimated_bytes"]
    error = row["error_pct"]
    plan = "no plan" if estimated is None else f"plan {format_size(estimated)}"
    off = "" if error is None else f" ({error:+.1f}%)"
    return f"  {label:<6} measured {format_size(row['measured_bytes'])}, {plan}{off}"
