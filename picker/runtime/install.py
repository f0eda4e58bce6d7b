"""Installing llama-cpp-python the first time it is needed: the build for this machine, and a
child process that runs pip with its progress read from the build's own output and a log.

picker installs in seconds without it; the runtime compiles llama.cpp from source, which is
the slow part (13 min 26 s on this project's 2-core build VM), so it is a step the user takes
when a smoke test or chat first needs it, never a surprise inside `pip install picker`.

The build flags are llama-cpp-python's documented CMAKE_ARGS (its README, "Supported Backends":
https://github.com/abetlen/llama-cpp-python#supported-backends; the 0.3.36 sdist's README
names -DGGML_CUDA=on, -DGGML_METAL=on, -DGGML_HIP=on and -DGGML_VULKAN=on, the options of the
llama.cpp it vendors, vendor/llama.cpp/ggml/CMakeLists.txt).
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from picker.hardware.model import HardwareSnapshot
from picker.runtime.availability import TESTED_VERSION

# The one version picker is tested with; pyproject's `llama` and `test` extras pin the same
# (tests/test_runtime_install.py checks they agree).
LLAMA_CPP_PYTHON_VERSION = ".".join(map(str, TESTED_VERSION))
REQUIREMENT = f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"
# With its `server` extra (uvicorn, fastapi, ...: pure-Python wheels, seconds beside the
# compile), for `picker serve`: one install rather than a second one after the first.
SERVER_REQUIREMENT = f"llama-cpp-python[server]=={LLAMA_CPP_PYTHON_VERSION}"
# Measured: 13 min 26 s on the 2-core build VM (CPU build, warm package cache, issue 21).
COMPILE_COST = "compiles llama.cpp: about 10-15 minutes on 2 cores"
LOG_NAME = "llama-cpp-python-install.log"

_NINJA_STEP = re.compile(r"\[(\d+)/(\d+)\]")  # "[45/187] Building CXX object ..."
_TAIL_LINES = 20


class BuildChoice(NamedTuple):
    """Which llama.cpp backend to compile for this machine, and why."""

    backend: str  # "CUDA", "Metal", "ROCm (HIP)", "Vulkan" or "CPU"
    cmake_args: str  # the CMAKE_ARGS value; "" for the CPU build
    reason: str  # what the probe found that chose it
    needs: str = ""  # the toolchain the build needs, when it needs more than a C++ compiler


def _gpu_label(snapshot: HardwareSnapshot, vendor: str) -> str:
    gpu = next(g for g in snapshot.gpus if g.vendor == vendor)
    return f"GPU{gpu.index} {gpu.name or vendor}"


# Where the toolkits install their compilers when they are not on PATH.
_TOOL_FOLDERS = {"nvcc": ("/usr/local/cuda/bin",), "hipcc": ("/opt/rocm/bin",)}


def toolchain_found(tool: str) -> bool:
    """Whether a build tool (nvcc, hipcc, glslc) is on PATH or where its toolkit puts it."""
    return shutil.which(tool) is not None or any(
        Path(folder, tool).is_file() for folder in _TOOL_FOLDERS.get(tool, ()))


def build_choice(snapshot: HardwareSnapshot,
                 found: Callable[[str], bool] = toolchain_found) -> BuildChoice:
    """The backend for the probed GPUs: NVIDIA CUDA, Apple Metal, AMD ROCm (Vulkan when ROCm's
    compiler is absent), Intel Vulkan; the CPU build otherwise. What-if GPUs do not count."""
    vendors = {gpu.vendor for gpu in snapshot.gpus} if "gpus" not in snapshot.overridden else set()
    if "nvidia" in vendors:
        toolkit = found("nvcc")
        return BuildChoice("CUDA", "-DGGML_CUDA=on", f"{_gpu_label(snapshot, 'nvidia')} (NVIDIA)",
                           "" if toolkit else "the CUDA toolkit (nvcc), which was not found")
    if "apple" in vendors:
        return BuildChoice("Metal", "-DGGML_METAL=on", f"{_gpu_label(snapshot, 'apple')} (Apple)")
    if "amd" in vendors:
        if found("hipcc"):
            return BuildChoice("ROCm (HIP)", "-DGGML_HIP=on", f"{_gpu_label(snapshot, 'amd')} (AMD)")
        return BuildChoice("Vulkan", "-DGGML_VULKAN=on",
                           f"{_gpu_label(snapshot, 'amd')} (AMD; ROCm's hipcc was not found)",
                           "the Vulkan SDK (glslc)" if not found("glslc") else "")
    if "intel" in vendors:
        return BuildChoice("Vulkan", "-DGGML_VULKAN=on", f"{_gpu_label(snapshot, 'intel')} (Intel)",
                           "the Vulkan SDK (glslc)" if not found("glslc") else "")
    return BuildChoice("CPU", "", "no GPU found")


def requirement(server: bool = False) -> str:
    """What pip installs: llama-cpp-python pinned, with the server extra `picker serve` needs
    when `server`."""
    return SERVER_REQUIREMENT if server else REQUIREMENT


def install_argv(python: str | None = None, server: bool = False) -> list[str]:
    """pip, run by the Python picker runs in, verbose so that the build's steps can be followed."""
    return [python or sys.executable, "-m", "pip", "install", "--verbose", requirement(server)]


def by_hand_command(choice: BuildChoice, python: str | None = None, server: bool = False) -> str:
    """The same install as one shell line a person can copy."""
    words = [python or sys.executable, "-m", "pip", "install", requirement(server)]
    command = " ".join(shlex.quote(word) for word in words)
    return f'CMAKE_ARGS="{choice.cmake_args}" {command}' if choice.cmake_args else command


def describe(choice: BuildChoice) -> str:
    needs = f"; needs {choice.needs}" if choice.needs else ""
    return f"{choice.backend} build, for {choice.reason}{needs}"


class InstallProgress(NamedTuple):
    elapsed_seconds: float
    step: int | None  # the build's step, from ninja's "[step/steps]" lines
    steps: int | None
    line: str  # the latest line pip or the build printed

    def summary(self) -> str:
        minutes, seconds = divmod(int(self.elapsed_seconds), 60)
        where = (f"compiling llama.cpp, step {self.step} of {self.steps}"
                 if self.step is not None else "preparing the build")
        return f"{where} ({minutes}:{seconds:02d} elapsed)"


class InstallResult(NamedTuple):
    succeeded: bool
    exit_code: int | None  # None: stopped before pip finished
    seconds: float
    log_path: Path
    tail: tuple[str, ...]  # the last lines of the output, for the reason of a failure

    def reason(self) -> str:
        """The last line that looks like an error, else the last line."""
        for line in reversed(self.tail):
            if re.search(r"error|failed|not found", line, re.IGNORECASE):
                return line.strip()
        return self.tail[-1].strip() if self.tail else "no output"


def _stop(process: subprocess.Popen[str]) -> None:
    """End pip and the compilers it started (its own process group)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        process.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def run_install(choice: BuildChoice, log_path: Path,
                on_progress: Callable[[InstallProgress], None] | None = None,
                cancel: threading.Event | None = None,
                argv: Sequence[str] | None = None, server: bool = False) -> InstallResult:
    """Run the install in a child process, every line to `log_path`, progress to `on_progress`
    (at most every 0.2 s); `cancel` (or Ctrl-C) stops it. `argv` replaces pip's command line;
    `server` adds the server extra."""
    command = list(argv) if argv is not None else install_argv(server=server)
    env = dict(os.environ)
    if choice.cmake_args:
        env["CMAKE_ARGS"] = choice.cmake_args
    env["PYTHONUNBUFFERED"] = "1"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tail: list[str] = []
    step: tuple[int, int] | None = None
    with log_path.open("w", encoding="utf-8", errors="replace") as log:
        log.write(f"$ CMAKE_ARGS={shlex.quote(choice.cmake_args)} "
                  f"{' '.join(shlex.quote(word) for word in command)}\n")
        log.flush()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=env, text=True,
                                   errors="replace", start_new_session=True)
        lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for text in stdout:
                lines.put(text)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        reported = 0.0
        ended = False
        try:
            while not ended:
                if cancel is not None and cancel.is_set():
                    _stop(process)
                    return InstallResult(False, None, time.monotonic() - started, log_path,
                                         tuple([*tail, "stopped before it finished"]))
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    line = ""
                if line is None:
                    ended = True
                elif line:
                    log.write(line)
                    tail.append(line.rstrip("\n"))
                    del tail[:-_TAIL_LINES]
                    found = _NINJA_STEP.search(line)
                    if found:
                        step = (int(found.group(1)), int(found.group(2)))
                now = time.monotonic()
                if on_progress is not None and (now - reported >= 0.2 or ended):
                    reported = now
                    on_progress(InstallProgress(now - started, step and step[0], step and step[1],
                                                tail[-1] if tail else ""))
        except KeyboardInterrupt:
            _stop(process)
            raise
        code = process.wait()
    import importlib

    importlib.invalidate_caches()  # the new package is found by this process's next look
    return InstallResult(code == 0, code, time.monotonic() - started, log_path, tuple(tail))
