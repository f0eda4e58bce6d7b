"""`picker fit TARGET --emit FORMAT`: every format parsed back and compared with the plan.

The plan comes from the same command's --json on a real-shaped MoE GGUF (gpt-oss-20b) on a
what-if GPU, with experts on the CPU, flash attention and a q8_0 cache, so every setting the
emitters know is exercised.
"""

from __future__ import annotations

import ast
import inspect
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.emit import emit
from picker.memory.machine import GpuBudget, Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from tests.cli_helpers import run_picker

GIB = 1024**3
SETTINGS = ("--vram", "8GB", "--ram", "64GB", "--ctx", "8192", "--n-cpu-moe", "auto",
            "--flash-attn", "on", "--cache-type-k", "q8_0", "--cache-type-v", "q8_0",
            "--n-batch", "1024", "--n-ubatch", "256")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("emit")
    return write_arch_model(ARCH_SHAPES["gpt-oss-20b"], folder / "gpt-oss-20b-Q4_K_M.gguf")


@pytest.fixture(scope="module")
def plan(model: Path) -> dict[str, Any]:
    result = run_picker("fit", str(model), *SETTINGS, "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["settings"]["n_cpu_moe"] > 0  # the plan really keeps experts on the CPU
    return document


def _emitted(model: Path, form: str) -> tuple[str, str]:
    result = run_picker("fit", str(model), *SETTINGS, "--emit", form)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def _flags(argv: list[str]) -> dict[str, str | None]:
    flags: dict[str, str | None] = {}
    for position, word in enumerate(argv[1:], start=1):
        if word.startswith("-"):
            following = argv[position + 1] if position + 1 < len(argv) else None
            flags[word] = None if following is None or following.startswith("-") else following
    return flags


@pytest.mark.parametrize("form", ["llama-server", "llama-cli"])
def test_llama_cpp_lines_state_every_setting_of_the_plan(model: Path, plan: dict[str, Any],
                                                         form: str) -> None:
    text, _ = _emitted(model, form)
    argv = shlex.split(text)
    assert argv[0] == form
    flags = _flags(argv)
    settings = plan["settings"]
    assert flags["-m"] == str(model.resolve())
    assert flags["-ngl"] == str(plan["n_gpu_layers"])
    assert (flags["-c"], flags["-b"], flags["-ub"]) == ("8192", "1024", "256")
    assert (flags["-fa"], flags["-ctk"], flags["-ctv"]) == ("on", "q8_0", "q8_0")
    assert flags["--n-cpu-moe"] == str(settings["n_cpu_moe"])
    assert "--swa-full" in flags and flags["--fit"] == "off"
    assert ("-np" in flags) == (form == "llama-server")


def test_llama_cpp_python_snippet_calls_llama_with_the_plan(model: Path,
                                                            plan: dict[str, Any]) -> None:
    import llama_cpp

    text, warnings = _emitted(model, "llama-cpp-python")
    call = next(node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call))
    assert ast.unparse(call.func) == "llama_cpp.Llama"
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    accepted = inspect.signature(llama_cpp.Llama.__init__).parameters
    assert set(keywords) <= set(accepted)  # every argument is one Llama takes
    values = {name: ast.literal_eval(value) for name, value in keywords.items()
              if not isinstance(value, ast.Attribute)}
    assert values == {"model_path": str(model.resolve()), "n_ctx": 8192, "n_batch": 1024,
                      "n_ubatch": 256, "n_gpu_layers": plan["n_gpu_layers"],
                      "flash_attn": True, "swa_full": True}
    for name in ("type_k", "type_v"):
        attribute = ast.unparse(keywords[name]).removeprefix("llama_cpp.")
        assert getattr(llama_cpp, attribute) == llama_cpp.GGML_TYPE_Q8_0
    assert "cannot keep experts on the CPU" in warnings  # said, not silently dropped


def test_ollama_modelfile_sets_what_ollama_can_and_says_the_rest(model: Path,
                                                                 plan: dict[str, Any]) -> None:
    text, warnings = _emitted(model, "ollama")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    instructions = [line.split(None, 1) for line in lines]
    assert all(word in ("FROM", "PARAMETER") for word, _ in instructions)
    assert dict(instructions)["FROM"] == str(model.resolve())
    parameters = dict(value.split() for word, value in instructions if word == "PARAMETER")
    assert parameters == {"num_ctx": "8192", "num_batch": "1024",
                          "num_gpu": str(plan["n_gpu_layers"])}
    for said in ("OLLAMA_FLASH_ATTENTION=1", "OLLAMA_KV_CACHE_TYPE=q8_0", "n_ubatch is 256",
                 "cannot keep experts on the CPU"):
        assert said in warnings and said in text


def test_lm_studio_preset_holds_the_plans_load_settings(model: Path, plan: dict[str, Any]) -> None:
    text, warnings = _emitted(model, "lm-studio")
    fields = {field["key"]: field["value"] for field in json.loads(text)["load"]["fields"]}
    assert fields["llm.load.contextLength"] == 8192
    assert fields["llm.load.llama.evalBatchSize"] == 1024
    assert fields["llm.load.llama.flashAttention"] is True
    assert fields["llm.load.llama.autoFit"] is False
    assert fields["llm.load.llama.kCacheQuantizationType"] == {"checked": True, "value": "q8_0"}
    assert fields["llm.load.llama.acceleration.offloadRatio"] == pytest.approx(
        plan["n_gpu_layers"] / 25, abs=1e-4)
    assert "micro-batch" in warnings and "experts on the CPU" in warnings


def test_hub_models_are_named_by_repo_and_file(model: Path) -> None:
    shape = shape_from_header(read_header(model))
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 24 * GIB),
                                                     GpuBudget("GPU1", 8 * GIB)))
    memory = plan_memory(shape, LlamaSettings(n_ctx=4096, n_gpu_layers=25), machine)
    hub = ["--hf-repo", "owner/repo", "--hf-file", "gpt-oss-20b-Q4_K_M.gguf"]
    flags = _flags(shlex.split(emit(memory, hub, "llama-server").text))
    assert (flags["--hf-repo"], flags["--hf-file"]) == ("owner/repo", "gpt-oss-20b-Q4_K_M.gguf")
    layers = [device.layers + (device.device == memory.output_device)
              for device in memory.devices[1:]]
    assert flags["-ts"] == ",".join(map(str, layers)) and sum(layers) == 25
    assert "FROM hf.co/owner/repo:Q4_K_M" in emit(memory, hub, "ollama").text
    snippet = emit(memory, hub, "llama-cpp-python").text
    call = next(node for node in ast.walk(ast.parse(snippet)) if isinstance(node, ast.Call))
    assert ast.unparse(call.func) == "llama_cpp.Llama.from_pretrained"
    values = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert values["repo_id"] == "owner/repo" and values["tensor_split"] == [float(n) for n in layers]
