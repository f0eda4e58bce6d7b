"""Command-line entry point: parses arguments and hands off to one command module.

Each subcommand lives in `picker/commands/<name>.py` with `add_parser()` and a
handler; this file only wires them and applies the output contract. Heavy imports
(Textual, huggingface_hub, llama_cpp) stay inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import NoReturn, TextIO

from picker import __version__
from picker.commands.common import Parser
from picker.errors import (
    ExitCode,
    InternalError,
    InterruptedByUserError,
    PickerError,
    UsageError,
)
from picker.output import CommandOutput, report_error, warn, write_json, write_text

# Subcommands in help order, with their line in `picker --help`; each module in
# picker/commands/ provides add_parser(). Only the module of the command being run is
# imported, which keeps `picker --json` and `picker probe` quick.
COMMANDS: dict[str, str] = {
    "probe": "show CPU, RAM, disk and GPUs, with where each value came from",
    "download": "download a model file from the Hugging Face Hub (resumes, verifies sha256)",
    "catalog": "browse the curated model catalog",
    "fit": "plan memory for a model: weights, KV cache, compute, per device",
    "smoke": "load a model for real, run a short prompt, measure speed and memory",
    "chat": "chat with a model in the terminal (streamed, tokens/s after each answer)",
    "serve": "serve a model over an OpenAI-compatible API (llama-cpp-python's server)",
    "history": "list the measurements from smoke tests and chats, newest first",
    "recommend": "the best models and quantizations for this machine and a use case",
    "search": "find GGUF repositories on the Hub, with fit and speed on this machine",
}
# Top-level options that take a value, so their value is not mistaken for a command.
# The top-level options that take a value (tests/test_cli_contract.py checks it against the parser).
_OPTIONS_WITH_VALUES = frozenset({
    "--ram", "--vram", "--gpu", "--cpu", "--cpu-threads", "--memory-bandwidth", "--memory-channels",
    "--memory-mts", "--hosts", "--link",
})


def _words(arguments: Sequence[str]) -> Iterator[str]:
    """The command line's tokens but the values of options that take one (`--ram 16G`)."""
    skip_value = False
    for token in arguments:
        if skip_value:
            skip_value = False
        elif token in _OPTIONS_WITH_VALUES:
            skip_value = True
        else:
            yield token


_PLAIN_NEGATIVE = r"^-\d+(\.\d+)?$"  # argparse already takes these as values


def _is_signed_value(token: str) -> bool:
    """`-8G`, `-1.5`: a minus, then a decimal digit."""
    return token.startswith("-") and token[1:2].isdecimal()


def _attach_signed_values(arguments: Sequence[str]) -> list[str]:
    """`--ram -8G` as `--ram=-8G`: argparse would take `-8G` for an option and say only
    "expected one argument"; attached, the flag's own check says what is wrong with it."""
    joined: list[str] = []
    for token in arguments:
        previous = joined[-1] if joined else ""
        if (_is_signed_value(token) and not re.match(_PLAIN_NEGATIVE, token)
                and previous.startswith("--") and "=" not in previous):
            joined[-1] = f"{previous}={token}"
        else:
            joined.append(token)
    return joined


def requested_command(arguments: Sequence[str]) -> str | None:
    """The subcommand named on the command line, if any (before argparse sees it)."""
    word = next((token for token in _words(arguments) if not token.startswith("-")), None)
    return word if word in COMMANDS else None


def _names_a_command_or_asks_for_help(arguments: Sequence[str]) -> bool:
    return any(token in ("-h", "--help") or not token.startswith("-") for token in _words(arguments))


def build_parser(command: str | None = None,
                 arguments: Sequence[str] = ("--help",)) -> argparse.ArgumentParser:
    """The full parser for `command` (every command's when None); the others are listed only.

    With `command` "" (no command named), the commands are listed only when `arguments`
    need them (help, or a word that is not a command: argparse then says which are):
    each listed command is a parser of its own, whose set-up (argparse asks gettext for
    every label, and gettext looks for translation files each time) is most of the
    parsing cost of `picker --json`."""
    from picker.commands import common

    parser = Parser(
        prog="picker",
        description="Find which open LLMs and quantizations run well on this machine.",
        epilog="With no command, opens the interactive picker (TUI). "
        "Exit codes: 0 ok, 2 usage, 3 not found, 4 network, 5 insufficient resources, "
        "6 runtime failure, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"picker {__version__}")
    common.add_json_flag(parser, top_level=True)
    common.add_hardware_overrides(parser)
    parser.add_argument("--hosts", default=argparse.SUPPRESS, metavar="MAIN.json,BOX2.json,...",
                        help="the picker's detail pane also plans each model across these "
                        "machines for llama.cpp's RPC backend (each one's `picker probe --json` "
                        "file, the main one first); `picker fit MODEL --hosts ...` prints it all")
    parser.add_argument("--link", default=argparse.SUPPRESS, metavar="1gbit|10gbit|...",
                        help="the network between the --hosts machines (default 1gbit)")
    if command == "" and not _names_a_command_or_asks_for_help(arguments):
        return parser  # `picker --json [what-if flags]`: no command parsers needed
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, summary in COMMANDS.items():
        if command is None or name == command:
            command_module(name).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def command_module(name: str) -> ModuleType:
    """The module of one command in COMMANDS, imported alone (each is spelled out, so the
    layer contract in pyproject.toml sees the import)."""
    match name:
        case "probe":
            from picker.commands import probe
            return probe
        case "download":
            from picker.commands import download
            return download
        case "catalog":
            from picker.commands import catalog
            return catalog
        case "fit":
            from picker.commands import fit
            return fit
        case "smoke":
            from picker.commands import smoke
            return smoke
        case "chat":
            from picker.commands import chat
            return chat
        case "serve":
            from picker.commands import serve
            return serve
        case "history":
            from picker.commands import history
            return history
        case "recommend":
            from picker.commands import recommend
            return recommend
        case "search":
            from picker.commands import search
            return search
    raise ValueError(f"{name!r} is not one of picker's commands")


def _run_default(args: argparse.Namespace) -> CommandOutput | int:
    """`picker` alone: the TUI; `picker --json`: the headless result."""
    if hasattr(args, "hosts") or hasattr(args, "link"):  # checked before anything starts
        from picker.rpc.hosts import read_hosts_flags

        if args.json or not (_is_terminal(sys.stdin) and _is_terminal(sys.stdout)):
            raise UsageError("--hosts without a command is for the interactive picker; for the "
                             "plan as text or JSON name the model: picker fit MODEL --hosts ...")
        args.hosts_and_link = read_hosts_flags(getattr(args, "hosts", None),
                                               getattr(args, "link", None))
    if args.json:
        from picker.commands import headless

        return headless.run(args)
    if not (_is_terminal(sys.stdin) and _is_terminal(sys.stdout)):
        # No terminal to draw on (a pipe, a file, cron): the TUI would write escape codes and
        # wait for keys forever. The same answers as text instead.
        from picker.commands import recommend

        output = recommend.run(args)
        note = ("not a terminal, so no interactive picker: this is `picker recommend`; run "
                "`picker` in a terminal for the picker, or `picker --json` for a program")
        return output._replace(warnings=[note, *output.warnings])
    from picker.tui import launch

    return launch(args)


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed, or replaced by something without a tty
        return False


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _attach_signed_values(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in arguments
    try:
        command = requested_command(arguments)
        args = build_parser(command or "", arguments).parse_args(arguments)
        as_json = bool(getattr(args, "json", False))
        handler = getattr(args, "handler", _run_default)
        result = handler(args)
        if isinstance(result, int):
            return result
        for message in result.warnings:
            warn(message)
        if as_json:
            write_json(result.document)
        else:
            write_text(result.text)
        return result.exit_code
    except PickerError as error:
        return report_error(error, as_json)
    except KeyboardInterrupt:
        return report_error(InterruptedByUserError("interrupted by the user (Ctrl-C)"), as_json)
    except BrokenPipeError:
        # `picker probe | head`: the reader left; say nothing more.
        sys.stderr.close()
        return int(ExitCode.OK)
    except Exception as error:  # a bug: one line that says where, not a traceback
        if os.environ.get("PICKER_DEBUG"):
            raise
        return report_error(internal_error(error), as_json)


def internal_error(error: Exception) -> InternalError:
    """A bug turned into one reportable line: the exception and picker's innermost frame."""
    import traceback

    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if f"{os.sep}picker{os.sep}" in frame.filename]
    where = ""
    if frames:
        innermost = frames[-1]
        inside = innermost.filename.rsplit(f"{os.sep}picker{os.sep}", 1)[-1]
        where = f" at picker/{inside.replace(os.sep, '/')}:{innermost.lineno}"
    return InternalError(f"internal error (a bug in picker): {type(error).__name__}{where}: "
                         f"{str(error) or 'no message'}; please report it with the command you ran "
                         "(PICKER_DEBUG=1 shows the traceback)")


# Commands that read and print, nothing more: once their output is flushed there is nothing
# left to clean up, and the interpreter's teardown (freeing every module and object) is
# skipped: ~30 M instructions (callgrind, this checkout on PYTHONPATH with and without it),
# ~7 % of `picker --json` as a wheel installs it (405 M; benchmarks/bench_headless.py
# --instructions), measured 2026-12-06; ~7 M of 307 M (2.3 %) later that day, with most
# records NamedRecords (entry() against main(), the session-start catalog). Interactive
# commands, downloads and the TUI exit normally.
_QUICK_EXIT_COMMANDS = frozenset({"probe", "recommend", "catalog", "fit", "history"})


def entry() -> NoReturn:
    """The `picker` console script and `python -m picker`."""
    arguments = sys.argv[1:]
    code = main(arguments)
    command = requested_command(arguments)
    if command in _QUICK_EXIT_COMMANDS or (command is None and "--json" in arguments):
        from contextlib import suppress

        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say
                stream.flush()
        os._exit(code)
    raise SystemExit(code)

