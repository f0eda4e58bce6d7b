"""Before a smoke test or chat: llama-cpp-python is here, or picker offers to install it.

At a terminal picker says what the install costs, which build it would make for this
machine and the command to run by hand, then asks; with a yes it runs pip in a child
process with the build's progress on one line and everything in a log. Without a terminal
(or with --json) it never asks: one line says how to install it, exit 6.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from picker.errors import RuntimeFailureError


def install_log_path() -> Any:
    from picker.paths import picker_paths
    from picker.runtime.install import LOG_NAME

    return picker_paths().cache_dir / LOG_NAME


def offer_text(choice: Any, problem: str, server: bool = False) -> str:
    """What the CLI and the TUI say before asking: the cost, the build, the command by hand
    (`server`: with the server extra, for `picker serve`)."""
    from picker.runtime.install import COMPILE_COST, by_hand_command, describe

    uses = "serve, smoke test, chat" if server else "smoke test, chat"
    return (f"{problem}: picker needs it to load models ({uses}).\n"
            f"Installing it {COMPILE_COST}.\n"
            f"Build: {describe(choice)}.\n"
            f"By hand: {by_hand_command(choice, server=server)}")


def _ask(question: str, stdin: TextIO, err: TextIO) -> bool:
    err.write(f"{question} [y/N] ")
    err.flush()
    try:
        answer = stdin.readline()
    except (EOFError, KeyboardInterrupt):
        err.write("\n")
        return False
    return answer.strip().lower() in ("y", "yes")


def ensure_runtime(snapshot: Any, *, as_json: bool, stdin: TextIO | None = None,
                   err: TextIO | None = None, server: bool = False) -> None:
    """Return when a usable llama-cpp-python is importable (installing it if the user agrees,
    with the server extra when `server`); else raise LlamaCppMissingError with the way to
    install it."""
    from picker.runtime.availability import LlamaCppMissingError, llama_cpp_problem
    from picker.runtime.install import build_choice, by_hand_command, run_install

    problem = llama_cpp_problem()
    if problem is None:
        return
    stdin = stdin or sys.stdin
    err = err or sys.stderr
    choice = build_choice(snapshot)
    if as_json or not stdin.isatty():
        from picker.runtime.install import COMPILE_COST

        raise LlamaCppMissingError(
            f"{problem}; installing it {COMPILE_COST}: run "
            f"`{by_hand_command(choice, server=server)}`, or run this command at a terminal and "
            "picker offers to")
    err.write(offer_text(choice, problem, server) + "\n")
    if not _ask("Install it now?", stdin, err):
        raise LlamaCppMissingError(
            f"{problem}; install it with `{by_hand_command(choice, server=server)}` and run this again")
    log_path = install_log_path()
    err.write(f"Installing llama-cpp-python; the full output goes to {log_path}\n")
    result = run_install(choice, log_path, _progress_writer(err), server=server)
    err.write("\n")
    if not result.succeeded:
        raise RuntimeFailureError(
            f"installing llama-cpp-python failed (pip exit {result.exit_code}): {result.reason()}; "
            f"the full log is {log_path}")
    still = llama_cpp_problem()
    if still is not None:
        raise LlamaCppMissingError(f"pip finished but {still}; the log is {log_path}")
    minutes, seconds = divmod(int(result.seconds), 60)
    err.write(f"llama-cpp-python installed in {minutes}:{seconds:02d}.\n")
    err.flush()


def _progress_writer(err: TextIO) -> Any:
    """One line, rewritten in place: the build's step and the time so far."""
    from picker.runtime.install import InstallProgress

    def write(progress: InstallProgress) -> None:
        err.write("\r\x1b[K" + progress.summary())
        err.flush()

    return write
