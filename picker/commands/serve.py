"""`picker serve TARGET`: llama-cpp-python's OpenAI-compatible server, with picker's plan.

The model is planned as `picker smoke` and `picker chat` plan it (the same flags, the same
solver), then `python -m llama_cpp.server` runs in a child process with those settings.
picker prints the URL, waits until the server answers, and stays in the foreground: Ctrl-C
stops the server (exit 130) and nothing is left running.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.commands import common
from picker.output import warn
from picker.safetext import escape_controls

if TYPE_CHECKING:
    from picker.llama_settings import LlamaSettings
    from picker.memory.projector import Projector
    from picker.runtime.plan import RunPlan
    from picker.runtime.server import ServerAddress
    from picker.targets.on_disk import ModelTarget

def add_parser(subparsers: Any) -> None:
    from picker.commands.smoke import add_runtime_arguments
    from picker.runtime.server import DEFAULT_PORT

    parser = subparsers.add_parser(
        "serve", help="serve a model over an OpenAI-compatible API (llama-cpp-python's server)",
        description="Start llama-cpp-python's OpenAI-compatible server (python -m "
        "llama_cpp.server, its `server` extra) in a child process with picker's memory plan for "
        "this machine (context, GPU layers, batch sizes, flash attention, KV cache types, "
        "threads), print its URL and wait until it answers. Ctrl-C stops it. The server runs "
        "one request at a time (no parallel slots) and returns no logprobs (logits_all off, as "
        "planned).",
    )
    add_runtime_arguments(parser, answers=False)
    parser.add_argument("--mmproj", default=None, metavar="PATH",
                        help="a vision model's projector (mmproj-*.gguf): planned as `picker fit "
                        "--mmproj` plans it and loaded with llama-cpp-python's mtmd chat handler")
    parser.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                        help="address to listen on (default 127.0.0.1, this machine only; "
                        "0.0.0.0 lets the network in, without any API key)")
    parser.add_argument("--port", type=common.whole_number("--port", 0, 65535),
                        default=DEFAULT_PORT, metavar="N",
                        help=f"port to listen on (default {DEFAULT_PORT}; 0: a free one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from picker.commands.runtime_setup import ensure_runtime
    from picker.commands.smoke import plan_request
    from picker.hardware.probe import probe_hardware
    from picker.runtime.plan import plan_run
    from picker.runtime.server import claim_port, is_loopback, require_server_extra
    from picker.targets.on_disk import is_local, resolve_model

    # Cheap refusals first: a missing file, a busy port, no server, before any download or load.
    local = resolve_model(args.target) if is_local(args.target) else None
    projector = _projector(args.mmproj, bool(args.flash_attn))
    address = claim_port(args.host, args.port)
    snapshot = probe_hardware()
    ensure_runtime(snapshot, as_json=False, server=True)
    require_server_extra()
    target = local or resolve_model(args.target, assume_yes=args.yes)
    alias = target.path.name if local is not None else target.label  # the API's model id
    run_plan = plan_run(target.path, snapshot, plan_request(args), context=args.ctx,
                        allow_overcommit=args.force,
                        projector=None if projector is None else projector[1])
    for message in run_plan.warnings:
        warn(message)
    if not is_loopback(address.host):
        warn(f"listening on {address.host}: anyone who can reach this machine can use the "
             "server (it has no API key)")
    return _serve(target, alias, run_plan, address, None if projector is None else projector[0],
                  args.load_timeout)


def _projector(mmproj: str | None, flash_attn: bool) -> tuple[Path, Projector] | None:
    """The projector's file and its memory (a missing file or one that is not a projector
    stops here), or None; its compute buffer with flash attention as the model runs."""
    if mmproj is None:
        return None
    from picker.memory.projector import read_projector

    return Path(mmproj).expanduser(), read_projector(mmproj, flash_attn)


def _serve(target: ModelTarget, alias: str, run_plan: RunPlan, address: ServerAddress,
           projector: Path | None, load_timeout: float | None) -> int:
    from picker.memory.emit import plan_tensor_split
    from picker.paths import picker_paths
    from picker.runtime.server import ServerProcess, server_command
    from picker.runtime.settings import RuntimeLimits

    settings = run_plan.settings
    split = () if run_plan.memory_plan is None else plan_tensor_split(run_plan.memory_plan)
    command = server_command(target.path, settings, address, alias, split, projector)
    log_path = picker_paths().cache_dir / f"serve-{address.port}.log"
    limit = RuntimeLimits.for_file(target.path.stat().st_size, load_timeout).load_seconds
    out = sys.stdout
    out.write(f"serving {escape_controls(alias)} with llama-cpp-python's OpenAI-compatible server\n"
              f"settings: {_settings_text(settings, split)}\n"
              f"starting at {address.url} (log: {log_path}) ...\n")
    out.flush()
    stopped_by: list[int] = []
    with _stopping_on_signals(stopped_by):
        try:
            with ServerProcess(command, address, log_path) as server:
                seconds = server.wait_until_ready(limit)
                out.write(f"ready in {seconds:.1f} s: {address.url} (model "
                          f"{escape_controls(alias)}); Ctrl-C stops it\n")
                out.flush()
                server.wait()
                raise server.failure("while serving")
        except KeyboardInterrupt:  # the with block has stopped the server
            signum = stopped_by[0] if stopped_by else signal.SIGINT
            how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            out.write(f"stopped the server ({how})\n")
            out.flush()
            return 128 + signum  # 130 for Ctrl-C, the shell's convention


@contextlib.contextmanager
def _stopping_on_signals(stopped_by: list[int]) -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) stop the server as Ctrl-C does, so it never
    outlives picker; `stopped_by` says which signal came."""
    def stop(signum: int, _frame: object) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, stop) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _settings_text(settings: LlamaSettings, split: tuple[int, ...]) -> str:
    text = (f"n_ctx {settings.n_ctx}, n_gpu_layers {settings.n_gpu_layers}, n_batch "
            f"{settings.n_batch}, n_ubatch {settings.n_ubatch}, flash attention "
            f"{'on' if settings.flash_attn else 'off'}, KV cache {settings.type_k}/{settings.type_v}")
    if settings.n_threads is not None:
        text += f", {settings.n_threads} thread{'' if settings.n_threads == 1 else 's'}"
    if split:
        text += f", tensor split {','.join(map(str, split))}"
    return text
