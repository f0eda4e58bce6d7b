"""ruff and mypy, as configured in pyproject.toml, are clean; CI runs the README's test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_is_clean() -> None:
    completed = run_tool("ruff", "check", "picker", "tests", "benchmarks")
    assert completed.returncode == 0, completed.stdout[-4000:]


def test_mypy_is_clean() -> None:
    completed = run_tool("mypy")
    assert completed.returncode == 0, completed.stdout[-4000:]


def test_ci_runs_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^    (python3 -m venv .*)$", readme, flags=re.MULTILINE)
    assert len(commands) >= 2, "the README must open with the install and the test command"
    ci_script = (ROOT / ".ci" / "run").read_text()
    test_command = commands[1]
    assert "pytest" in test_command
    assert test_command in ci_script
