"""`picker chat TARGET`: talk to a model in the terminal, streamed, with tokens/s after each answer.

/exit or Ctrl-D ends the chat; Ctrl-C stops the answer being written, not the
program (llama.cpp runs in its own process group and never sees the Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from typing import Any, TextIO

from picker.errors import PickerError, RuntimeFailureError, UsageError
from picker.output import warn
from picker.safetext import escape_controls

HELP_LINE = "/exit or Ctrl-D ends the chat, /reset forgets it, Ctrl-C stops an answer"


def add_parser(subparsers: Any) -> None:
    from picker.commands.smoke import add_runtime_arguments

    parser = subparsers.add_parser(
        "chat", help="chat with a model in the terminal (streamed, tokens/s after each answer)",
        description="Chat with a model through llama.cpp (in a child process) with picker's "
        "memory plan, the model's own chat template, and tokens/s after each answer. A base "
        "model without a template gets plain text completion. " + HELP_LINE + ".",
    )
    add_runtime_arguments(parser)
    parser.add_argument("--system", default=None, metavar="TEXT", help="a system prompt")
    parser.add_argument("--max-tokens", type=int, default=512, metavar="N",
                        help="longest answer in tokens (default 512)")
    parser.add_argument("--temperature", type=float, default=0.7, metavar="T",
                        help="sampling temperature (default 0.7; 0: always the likeliest token)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from picker.commands.runtime_setup import ensure_runtime
    from picker.commands.smoke import plan_request
    from picker.hardware.probe import probe_hardware
    from picker.runtime.chat import NO_TEMPLATE_NOTICE, ChatSession
    from picker.runtime.engine import LlamaEngine
    from picker.runtime.plan import plan_run
    from picker.runtime.settings import RuntimeLimits
    from picker.targets.on_disk import is_local, resolve_model

    local = resolve_model(args.target) if is_local(args.target) else None  # checked first
    snapshot = probe_hardware()
    ensure_runtime(snapshot, as_json=False)
    target = local or resolve_model(args.target, assume_yes=args.yes)
    run_plan = plan_run(target.path, snapshot, plan_request(args), context=args.ctx,
                        allow_overcommit=args.force)
    for message in run_plan.warnings:
        warn(message)
    settings = run_plan.settings
    if not 0 < args.max_tokens < settings.n_ctx:
        raise UsageError(f"--max-tokens must be between 1 and the context ({settings.n_ctx} "
                         f"tokens) minus the prompt, got {args.max_tokens}")
    out = sys.stdout
    out.write(f"loading {escape_controls(target.path.name)} (n_ctx {settings.n_ctx}, "
              f"n_gpu_layers {settings.n_gpu_layers}) ...\n")
    out.flush()
    engine = LlamaEngine(target.path, settings,
                         RuntimeLimits.for_file(target.path.stat().st_size, args.load_timeout,
                                                args.generation_timeout))
    with engine:
        session = ChatSession(engine, system=args.system, max_tokens=args.max_tokens,
                              temperature=args.temperature)
        assert engine.load_report is not None
        out.write(f"loaded in {engine.load_report.load_seconds:.2f} s; {HELP_LINE}\n")
        if session.mode == "completion":
            out.write(f"note: {NO_TEMPLATE_NOTICE}\n")
        out.flush()
        try:
            _loop(session, sys.stdin, out)
        finally:
            _record(target, snapshot, settings.load_dict(), session)
    return 0


def _read_line(stdin: TextIO, out: TextIO) -> str | None:
    """One line from the user; None at end of input."""
    if stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing for input())
        return input("you> ")
    out.write("you> ")
    out.flush()
    line = stdin.readline()
    return None if line == "" else line.rstrip("\n")


def _loop(session: Any, stdin: TextIO, out: TextIO) -> None:
    while True:
        try:
            line = _read_line(stdin, out)
        except EOFError:
            line = None
        except KeyboardInterrupt:
            out.write(f"\n({HELP_LINE})\n")
            continue
        if line is None or line.strip() in ("/exit", "/quit"):
            out.write("\n" if line is None else "")
            return
        if line.strip() == "/reset":
            session.reset()
            out.write("(conversation forgotten)\n")
            continue
        if not line.strip():
            continue
        _answer(session, line, out)


def _answer(session: Any, line: str, out: TextIO) -> None:
    out.write("model> ")
    out.flush()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: session.stop())
    try:
        for piece in session.ask(line):  # a model's output may hold escapes too: shown, not run
            out.write(escape_controls(piece, keep_newlines=True))
            out.flush()
    except RuntimeFailureError as error:
        out.write("\n")
        if not session.engine.alive:  # killed, crashed or over the time limit: the chat is over
            raise
        out.write(f"(error: {escape_controls(' '.join(error.message.split()))})\n")
        return
    finally:
        signal.signal(signal.SIGINT, previous)
    stats = session.engine.last_stats
    if stats is not None:
        rate = stats.generation_tokens_per_second
        stopped = ", stopped" if stats.stopped else ""
        out.write(f"\n[{stats.generated_tokens} tokens, "
                  f"{'n/a' if rate is None else f'{rate:.1f}'} tokens/s{stopped}]\n")
    out.flush()


def _record(target: Any, snapshot: Any, settings: dict[str, Any], session: Any) -> None:
    """One history row per chat: the median speeds of its answers."""
    from picker.runtime.chat import record_chat

    try:
        record_chat(target, snapshot, settings, session)
    except PickerError as error:
        warn(f"the chat's speed was not saved: {error.message}")
