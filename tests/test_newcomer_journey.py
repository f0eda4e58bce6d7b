"""A newcomer's first ten minutes, end to end, as the README tells them (issue 21's target).

A fresh venv made with the README's first command (so llama.cpp is not installed) ->
the TUI's first screen -> `picker catalog add` of a GGUF of their own -> the smoke test
through the `run:` line, which offers to install llama-cpp-python and does -> the TUI
shows the model's measured speed with its `m` marker. Each step is checked on what the
terminal shows, through a pseudo-terminal as a person at a keyboard.

The install is the real `pip install llama-cpp-python==<pinned>`. It takes seconds here
because the README's test command (which CI runs before these tests) has just built the
same wheel into pip's cache; with a cold cache it compiles llama.cpp (10-15 minutes).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.pty_session import PtySession

ROOT = Path(__file__).resolve().parent.parent
_ESCAPE = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def screen_text(session: PtySession) -> str:
    """What the terminal showed, without its escape sequences."""
    return _ESCAPE.sub("", session.output)


def readme_install(venv: Path) -> list[str]:
    """The README's first command, its steps split, `.venv` being `venv`, the TUI left out."""
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"^    (python3 -m venv .*)$", readme, flags=re.MULTILINE)[0]
    steps = [step.strip().replace(".venv", str(venv)) for step in first.split("&&")]
    assert steps[-1] == f"{venv}/bin/picker", steps  # the README opens the TUI last
    return steps[:-1]


def sized(session: PtySession, rows: int = 40, columns: int = 120) -> PtySession:
    fcntl.ioctl(session.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return session


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """This checkout, copied, so that pip's build leaves nothing in the working tree."""
    copy = tmp_path / "picker-checkout"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*_cache", "snapshot_report.html"))
    return copy


def test_from_a_fresh_install_to_a_measured_speed(
    checkout: Path, tmp_path: Path, gemma_gguf_path: Path
) -> None:
    venv = tmp_path / "venv"
    env = {name: value for name, value in os.environ.items()
           if name not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(TERM="xterm-256color", COLORTERM="truecolor")
    for step in readme_install(venv):
        done = subprocess.run(step, shell=True, cwd=checkout, env=env, capture_output=True,
                              text=True, timeout=600, check=False)
        assert done.returncode == 0, f"{step}\n{done.stderr[-3000:]}"
    picker = str(venv / "bin" / "picker")
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import llama_cpp"], capture_output=True,
                          check=False).returncode != 0, "the first command must not install llama.cpp"

    # The first screen.
    tui = sized(PtySession([picker], env))
    try:
        tui.expect(r"which local LLMs run well", timeout=60)
        tui.expect(r"\d+ models fit", timeout=60)
        tui.send("q")
        assert tui.wait(30) == 0
    finally:
        tui.close()
    first_screen = screen_text(tui)
    assert "GPU" in first_screen or "CPU" in first_screen

    # A GGUF of my own.
    mine = tmp_path / "models" / "gemma-3-270m-it-Q4_K_M.gguf"
    mine.parent.mkdir()
    shutil.copyfile(gemma_gguf_path, mine)
    added = subprocess.run([picker, "catalog", "add", str(mine)], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert added.returncode == 0 and "Added gemma-3-270m" in added.stdout, added.stderr
    listed = subprocess.run([picker, "recommend", "--on-disk"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    (run_line,) = re.findall(r"^   run: (.*)$", listed.stdout, flags=re.MULTILINE)
    assert run_line.startswith("picker smoke gemma-3-270m:Q4_K_M") and "download" not in run_line

    # The run: line, word for word: picker offers the runtime, installs it, then smoke-tests.
    smoke = sized(PtySession([picker, *run_line.split()[1:]], env))
    try:
        smoke.expect(r"compiles llama\.cpp: about 10-15 minutes on 2 cores", timeout=60)
        smoke.expect(r"By hand: .*pip install llama-cpp-python==")
        smoke.expect(r"Install it now\? \[y/N\]")
        smoke.send("y\n")
        smoke.expect(r"llama-cpp-python installed in \d+:\d\d", timeout=900)
        smoke.expect(r"smoke test of gemma-3-270m:Q4_K_M: PASSED", timeout=300)
        assert smoke.wait(60) == 0
    finally:
        smoke.close()
    assert "measured" in subprocess.run([picker, "recommend", "--on-disk"], env=env,
                                        capture_output=True, text=True, timeout=60,
                                        check=False).stdout

    # The TUI again: filtered to my model, its speed is the measured one, marked m.
    again = sized(PtySession([picker], env))
    try:
        again.expect(r"\d+ models fit", timeout=60)
        again.send("/")
        again.wait(1.0)  # the filter takes the focus; keys typed before that go to the table
        again.send("270m")
        again.expect(r"Gemma 3 270m", timeout=30)
        shown = ""
        for _ in range(100):  # until the filtered row is drawn
            shown = screen_text(again)
            if re.search(r"Gemma 3 270m[^\n]*?\s\d+ m\s", shown):
                break
            again.wait(0.1)
        assert re.search(r"Gemma 3 270m[^\n]*?\s\d+ m\s", shown), shown[-3000:]
        again.send("\x1b")  # leave the filter (alone: Esc then q at once reads as Alt+q)
        again.wait(0.5)
        again.send("q")
        assert again.wait(30) == 0
    finally:
        again.close()
