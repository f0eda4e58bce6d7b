"""`picker smoke` end to end on real models, and `picker history` reading it back."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from picker.errors import ExitCode
from tests.cli_helpers import run_picker

pytest_plugins = ["tests.runtime_models"]

GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SMOKE_KEYS = {
    "passed", "reason", "settings", "load_seconds", "time_to_first_token_seconds",
    "prompt_tokens_per_second", "generation_tokens_per_second", "peak_rss_bytes",
    "gpu_memory_used_bytes", "memory", "text",
}


def test_gemma_smoke_measures_matches_the_plan_and_is_remembered(gemma_gguf_path: Path) -> None:
    result = run_picker("smoke", str(gemma_gguf_path), "--ctx", "1024", "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    smoke = result.json()["smoke"]
    assert set(smoke) >= SMOKE_KEYS
    assert smoke["passed"] is True and smoke["reason"] is None
    assert smoke["settings"]["n_ctx"] == 1024 and smoke["settings"]["n_gpu_layers"] == 0
    assert smoke["load_seconds"] > 0
    assert smoke["time_to_first_token_seconds"] > 0
    assert smoke["prompt_tokens_per_second"] > 0 and smoke["prompt_tokens"] > 40
    assert smoke["generation_tokens_per_second"] > 0 and smoke["generated_tokens"] > 10
    assert smoke["peak_rss_bytes"] > 250_000_000  # the weights alone are 253 MB
    assert smoke["gpu_memory_used_bytes"] is None  # no GPU here
    assert smoke["text"].strip()
    memory = smoke["memory"]
    assert memory["measured_bytes"] > 250_000_000
    assert abs(memory["error_pct"]) <= 2.0, memory  # the fit engine's target for totals
    (cpu,) = memory["devices"]
    assert cpu["device"] == "CPU" and cpu["measured_bytes"] == memory["measured_bytes"]
    assert {buffer["kind"] for buffer in cpu["buffers"]} >= {"model", "kv", "compute", "output"}

    listed = run_picker("history", "--json")
    assert listed.returncode == 0, listed.stderr
    (run,) = listed.json()["history"]["runs"]
    assert run["id"] == smoke["history_id"] and run["kind"] == "smoke" and run["passed"]
    assert run["model"]["sha256"] == GEMMA_SHA256
    assert run["model"]["size_bytes"] == gemma_gguf_path.stat().st_size
    assert run["generation_tokens_per_second"] == smoke["generation_tokens_per_second"]
    assert run["settings"] == smoke["settings"]
    text = run_picker("history")
    assert "gemma-3-270m-Q4_K_M.gguf" in text.stdout and "smoke" in text.stdout

    # The ranking's question: measured speed of this file + settings on this machine.
    from picker.hardware.probe import probe_hardware
    from picker.history import History, machine_fingerprint

    machine = machine_fingerprint(probe_hardware())
    measured = History.open().measured_speed(machine, sha256=GEMMA_SHA256,
                                             settings=smoke["settings"])
    assert measured is not None
    assert measured.generation_tokens_per_second == smoke["generation_tokens_per_second"]
    figures = {key: smoke[key] for key in sorted(SMOKE_KEYS - {"memory", "settings", "text"})}
    print(f"\nGemma 3 270M smoke: {json.dumps(figures)}")


def test_a_file_that_is_not_a_gguf_is_refused_before_llama_cpp_starts(corrupt_path: Path) -> None:
    started = time.monotonic()
    result = run_picker("smoke", str(corrupt_path), "--json")
    assert result.returncode == ExitCode.USAGE
    assert "not a GGUF file" in result.json()["error"]["message"]
    (line,) = result.stderr.strip().splitlines()  # said once
    assert "not a GGUF file" in line and "Traceback" not in result.stderr
    assert time.monotonic() - started < 5  # no child was started (the limit allows a busy machine)
    assert run_picker("history", "--json").json()["history"]["runs"] == []
    chat = run_picker("chat", str(corrupt_path))
    assert chat.returncode == ExitCode.USAGE and "not a GGUF file" in chat.stderr


def test_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("smoke", "fit", "chat"):
        result = run_picker(command, str(tmp_path))
        assert result.returncode == ExitCode.USAGE, (command, result.stderr)
        assert "is a folder" in result.stderr
    assert run_picker("history", "--json").json()["history"]["runs"] == []


def test_the_load_time_limit_is_a_failed_smoke(tiny_path: Path) -> None:
    result = run_picker("smoke", str(tiny_path), "--load-timeout", "0.01", "--json")
    assert result.returncode == ExitCode.RUNTIME_FAILURE
    smoke = result.json()["smoke"]
    assert smoke["passed"] is False
    assert "took longer than the 0.01 s limit" in smoke["reason"]


def test_a_time_limit_must_be_positive(tiny_path: Path) -> None:
    result = run_picker("smoke", str(tiny_path), "--generation-timeout", "0", "--json")
    assert result.returncode == ExitCode.USAGE
    assert "must be more than 0 seconds" in result.json()["error"]["message"]


def test_a_missing_file_is_not_found() -> None:
    result = run_picker("smoke", "/nonexistent/model.gguf", "--json")
    assert result.returncode == ExitCode.NOT_FOUND
    assert result.json()["error"]["code"] == "not_found"


def _without_llama_cpp(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a Python that cannot import llama_cpp, as after a plain `pip install picker`."""
    script = (
        "import sys\n"
        "sys.modules['llama_cpp'] = None  # import fails, find_spec says absent\n"
        "from picker.cli import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)


def test_without_llama_cpp_smoke_says_how_to_install_it(tiny_path: Path) -> None:
    result = _without_llama_cpp("smoke", str(tiny_path))
    assert result.returncode == ExitCode.RUNTIME_FAILURE
    (line,) = result.stderr.strip().splitlines()
    assert "llama-cpp-python is not installed" in line
    # The cost, and the command for this machine's build (a CPU build here: no GPU).
    assert "compiles llama.cpp" in line and "-m pip install llama-cpp-python==" in line
    assert result.stdout == ""


def test_without_llama_cpp_everything_else_works() -> None:
    result = _without_llama_cpp("probe", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hardware"]["cpu"]["logical_cores"] >= 1
    listed = _without_llama_cpp("history", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["history"]["runs"] == []


def test_a_hub_target_asks_then_downloads_and_smokes(tiny_path: Path, hub_server: Any) -> None:
    hub_server.add_repo("someone/tiny-GGUF", {"tiny.gguf": tiny_path.read_bytes()})
    env = {"HF_ENDPOINT": hub_server.endpoint}
    target = "hf://someone/tiny-GGUF/tiny.gguf"

    refused = run_picker("smoke", target, "--json", env=env)  # no terminal to ask on
    assert refused.returncode == ExitCode.USAGE
    assert "run again with --yes" in refused.json()["error"]["message"]

    def downloads() -> list[Any]:
        return [request for request in hub_server.requests if request.method == "GET"
                and ("/blobs/" in request.path or "/resolve/" in request.path)]

    assert downloads() == []

    result = run_picker("smoke", target, "--yes", "--json", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert downloads()
    smoke = result.json()["smoke"]
    assert smoke["passed"] is True
    assert smoke["model"]["hub_repo"] == "someone/tiny-GGUF"
    assert smoke["model"]["hub_revision"]
    (run,) = run_picker("history", "--json").json()["history"]["runs"]
    assert run["model"]["sha256"] == hashlib.sha256(tiny_path.read_bytes()).hexdigest()
    assert run["model"]["hub_filename"] == "tiny.gguf"
    assert run["model"]["hub_revision"] == smoke["model"]["hub_revision"]

    again = run_picker("smoke", target, "--json", env=env)  # downloaded: no question now
    assert again.returncode == 0, again.stderr


def test_a_catalog_id_is_downloaded_from_its_repo_and_smoked(
    tiny_chat_path: Path, hub_server: Any
) -> None:
    from picker.catalog import hub_files

    files = hub_files("smollm2-135m-instruct:Q8_0")  # where the catalog says the file lives
    (filename,) = files.filenames
    hub_server.add_repo(files.repo_id, {filename: tiny_chat_path.read_bytes()})
    result = run_picker("smoke", "smollm2-135m-instruct:Q8_0", "--yes", "--json",
                        env={"HF_ENDPOINT": hub_server.endpoint}, timeout=120)
    assert result.returncode == 0, result.stderr
    smoke = result.json()["smoke"]
    assert smoke["passed"] is True
    assert smoke["model"]["hub_repo"] == files.repo_id
    assert smoke["model"]["hub_filename"] == filename
