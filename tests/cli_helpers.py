"""Run the real CLI in a child process, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_picker(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> CliResult:
    completed = subprocess.run(
        [sys.executable, "-m", "picker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)
