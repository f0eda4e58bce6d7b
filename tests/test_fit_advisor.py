"""The settings advisor in `picker fit`: each change is re-planned, and what it says it saves
and where it lands is what planning with that change gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from picker.memory.synthetic import SyntheticModel, write_model
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from tests.cli_helpers import run_picker

GPU = ("--gpu", "RTX 3090")


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SyntheticModel("advice", n_layer=6, n_embd=512, n_head=8, n_head_kv=2, head_dim=64,
                          n_ff=1536, n_vocab=32000, n_ctx_train=16384)
    return write_model(spec, tmp_path_factory.mktemp("advice") / "advice.gguf")


def _fit(*args: str) -> dict[str, Any]:
    result = run_picker("fit", *args, "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = result.json()
    return document


def _changes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change["change"]: change for change in document["advice"]["changes"]}


def test_a_plan_that_does_not_fit_gets_changes_checked_by_planning_them(dense: Path) -> None:
    machine = (str(dense), "--ram", "300M", "--ctx", "16384")
    document = _fit(*machine)
    assert document["placement"] == "does-not-fit"
    assert document["settings"]["n_ctx"] == 16384  # what was asked is kept, never overridden
    advice = document["advice"]
    largest = advice["largest_context"]
    assert 4096 <= largest < 16384
    assert f"fits {largest} tokens, not the 16384 you asked for" in advice["context_note"]
    assert _fit(str(dense), "--ram", "300M", "--ctx", str(largest))["placement"] == "cpu"
    assert _fit(str(dense), "--ram", "300M", "--ctx",
                str(largest + 256))["placement"] == "does-not-fit"
    changes = _changes(document)
    assert {"flash_attn", "kv_q8_0", "context"} <= set(changes)
    q8 = _fit(*machine, "--cache-type-k", "q8_0", "--cache-type-v", "q8_0", "--flash-attn", "on")
    total = document["memory"]["total_bytes"]
    assert changes["kv_q8_0"]["saves_bytes"] == total - q8["memory"]["total_bytes"]
    assert changes["kv_q8_0"]["fits"] == (q8["placement"] != "does-not-fit")
    assert "llama.cpp#21038" in changes["kv_q8_0"]["quality"]
    flash = _fit(*machine, "--flash-attn", "on")
    assert changes["flash_attn"]["shortfall_bytes"] == flash["shortfall_bytes"]
    text = run_picker("fit", *machine).stdout
    assert f"advice: fits {largest} tokens, not the 16384 you asked for" in text
    assert "advice: KV cache q8_0 (--cache-type-k q8_0 --cache-type-v q8_0" in text


def test_a_partial_fit_is_told_what_puts_more_layers_on_the_gpu(dense: Path) -> None:
    machine = (str(dense), "--ram", "16G", "--vram", "600M", *GPU, "--ctx", "16384")
    document = _fit(*machine)
    assert document["placement"] == "partial"
    flash = _changes(document)["flash_attn"]
    planned = _fit(*machine, "--flash-attn", "on")
    assert flash["n_gpu_layers"] == planned["n_gpu_layers"] > document["n_gpu_layers"]
    assert flash["generation_tokens_per_second"] == pytest.approx(
        planned["speed"]["generation_tokens_per_second"])
    assert flash["generation_tokens_per_second"] > document["advice"]["generation_tokens_per_second"]
    context = _changes(document)["context"]
    assert context["placement"] == "gpu" and 4096 <= context["n_ctx"] < 16384
    assert _fit(*machine[:-1], str(context["n_ctx"]))["placement"] == "gpu"
    assert _fit(*machine[:-1], str(context["n_ctx"] + 256))["placement"] == "partial"
    assert document["settings"]["n_ctx"] == 16384


def test_a_plan_that_fits_on_the_gpu_has_no_advice(dense: Path) -> None:
    assert _fit(str(dense), "--ram", "16G", "--vram", "8G", *GPU)["advice"] is None


def test_too_many_asked_gpu_layers_are_advised_down(dense: Path) -> None:
    document = _fit(str(dense), "--ram", "16G", "--vram", "600M", *GPU, "--ctx", "16384",
                    "--n-gpu-layers", "7")
    assert document["placement"] == "does-not-fit"
    layers = _changes(document)["gpu_layers"]
    auto = _fit(str(dense), "--ram", "16G", "--vram", "600M", *GPU, "--ctx", "16384")
    assert layers["fits"] and layers["n_gpu_layers"] == auto["n_gpu_layers"] < 7
    assert layers["flags"] == f"--n-gpu-layers {auto['n_gpu_layers']}"


def test_a_moe_model_on_a_small_gpu_is_offered_experts_on_the_cpu(tmp_path: Path) -> None:
    model = write_arch_model(ARCH_SHAPES["gpt-oss-20b"], tmp_path / "gpt-oss-20b.gguf")
    machine = (str(model), "--vram", "8GB", "--ram", "64GB", "--ctx", "8192", *GPU)
    experts = _changes(_fit(*machine))["experts_on_cpu"]
    solved = _fit(*machine, "--n-cpu-moe", "auto")
    assert experts["n_cpu_moe"] == solved["settings"]["n_cpu_moe"] > 0
    assert experts["flags"] == f"--n-cpu-moe {solved['settings']['n_cpu_moe']}"
    assert experts["fits"] and experts["n_gpu_layers"] == solved["n_gpu_layers"]
