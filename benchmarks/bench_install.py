"""Time the README's first command, as a newcomer runs it: a fresh venv, `pip install .`.

The command is read from the README itself (its first indented `python3 -m venv ...` line),
without the final `&& .venv/bin/picker` that opens the TUI; it runs in a fresh temporary
folder's venv from this checkout. The first run fills pip's cache (wheels of the
dependencies, picker's build requirements); the figure that matters is a run with the cache
warm, so the default is two runs and both are printed. After each, the new venv's
`picker --version` and `picker --json` are timed, and the script checks that llama_cpp was
not installed (nothing was compiled).

    python benchmarks/bench_install.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_install_command() -> str:
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"^    (python3 -m venv .*)$", readme, flags=re.MULTILINE)[0]
    steps = [step.strip() for step in first.split("&&")]
    return " && ".join(step for step in steps if not step.endswith("/picker"))


def timed(command: str, cwd: Path, env_home: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    completed = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                               check=False, env={**env, "PICKER_HOME": str(env_home)})
    return time.perf_counter() - started, completed


def one_run(command: str) -> None:
    with tempfile.TemporaryDirectory(prefix="picker-install-") as folder:
        work = Path(folder) / "picker"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache"))
        home = Path(folder) / "home"
        seconds, completed = timed(command, work, home)
        if completed.returncode != 0:
            print(f"install FAILED after {seconds:.1f} s:\n{completed.stderr[-2000:]}")
            return
        version_s, version = timed(".venv/bin/picker --version", work, home)
        json_s, headless = timed(".venv/bin/picker --json > /dev/null", work, home)
        runtime = subprocess.run([str(work / ".venv/bin/python"), "-c", "import llama_cpp"],
                                 capture_output=True, check=False)
        print(f"install {seconds:6.1f} s | picker --version {version_s:.2f} s "
              f"({version.stdout.strip()}) | picker --json {json_s:.2f} s (exit {headless.returncode})"
              f" | llama_cpp {'NOT installed (nothing compiled)' if runtime.returncode else 'installed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs (the first warms pip's cache)")
    args = parser.parse_args()
    command = readme_install_command()
    print(f"README's first command, in a fresh copy of the checkout: {command}")
    for run in range(1, args.runs + 1):
        print(f"run {run}: ", end="", flush=True)
        one_run(command)


if __name__ == "__main__":
    main()
