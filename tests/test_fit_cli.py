"""`picker fit` run as a user would, checked through its JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.memory.synthetic import SyntheticModel, write_model
from tests.cli_helpers import run_picker
from tests.hub_server import HubServer

MEMORY_KEYS = {"weights_bytes", "kv_cache_bytes", "compute_bytes", "output_bytes",
               "overhead_bytes", "total_bytes", "devices"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SyntheticModel("cli", n_layer=6, n_embd=512, n_head=8, n_head_kv=2, head_dim=64,
                          n_ff=1536, n_vocab=32000, n_ctx_train=16384)
    return write_model(spec, tmp_path_factory.mktemp("fit") / "cli.gguf")


def test_json_has_the_documented_keys_and_echoes_settings(model_path: Path) -> None:
    result = run_picker("fit", str(model_path), "--json", "--ram", "16G")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert {"settings", "memory", "placement", "n_gpu_layers", "max_context"} <= set(document)
    assert set(document["memory"]) >= MEMORY_KEYS
    settings = document["settings"]
    # What `picker recommend` and the smoke test plan with: the use case's context, GPU
    # layers chosen by the solver (none: this what-if machine has no GPU).
    assert (settings["n_ctx"], settings["n_ubatch"], settings["flash_attn"],
            settings["swa_full"], settings["type_k"]) == (8192, 512, False, True, "f16")
    (cpu,) = document["memory"]["devices"]
    assert cpu["device"] == "CPU" and set(MEMORY_KEYS - {"devices"}) <= set(cpu)
    assert document["placement"] == "cpu" and document["n_gpu_layers"] == 0
    assert document["max_context"] == 16384
    memory = document["memory"]
    parts = ("weights_bytes", "kv_cache_bytes", "compute_bytes", "output_bytes", "overhead_bytes")
    assert memory["total_bytes"] == sum(memory[key] for key in parts)
    assert memory["overhead_bytes"] > 0 and cpu["overhead_source"]


def test_gpu_what_if_offloads_and_reports_each_device(model_path: Path) -> None:
    result = run_picker("fit", str(model_path), "--json", "--ram", "16G", "--vram", "8G,8G",
                        "--n-gpu-layers", "auto", "--ctx", "4096")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["placement"] == "gpu" and document["n_gpu_layers"] == 7
    devices = [device["device"] for device in document["memory"]["devices"]]
    assert devices == ["CPU", "GPU0", "GPU1"]
    assert document["settings"]["n_ctx"] == 4096


def test_fit_uses_the_gpus_by_default(model_path: Path) -> None:
    """No --n-gpu-layers, no --ctx: the solver's layers on both GPUs at recommend's context."""
    result = run_picker("fit", str(model_path), "--json", "--ram", "64G", "--vram", "24G,24G",
                        "--gpu", "RTX 3090")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["placement"] == "gpu" and document["n_gpu_layers"] == 7
    gpus = [d for d in document["memory"]["devices"] if d["device"].startswith("GPU")]
    assert len(gpus) == 2 and all(gpu["weights_bytes"] > 0 for gpu in gpus)
    assert document["settings"]["n_ctx"] == 8192


def test_does_not_fit_says_by_how_much(model_path: Path) -> None:
    result = run_picker("fit", str(model_path), "--json", "--ram", "100M", "--ctx", "8192")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["placement"] == "does-not-fit"
    assert document["shortfall_bytes"] == document["memory"]["total_bytes"] - 100 * 1024 * 1024
    text = run_picker("fit", str(model_path), "--ram", "100M", "--ctx", "8192")
    assert "does not fit" in text.stdout


def test_quantized_v_cache_without_flash_attention_is_refused(model_path: Path) -> None:
    result = run_picker("fit", str(model_path), "--json", "--cache-type-v", "q8_0")
    assert result.returncode == 2
    assert "quantized V cache requires flash_attn" in result.json()["error"]["message"]
    allowed = run_picker("fit", str(model_path), "--json", "--cache-type-v", "q8_0",
                         "--cache-type-k", "q8_0", "--flash-attn", "on")
    assert allowed.returncode == 0, allowed.stderr


def test_missing_file_and_bad_flags(tmp_path: Path) -> None:
    missing = run_picker("fit", str(tmp_path / "nope.gguf"), "--json")
    assert missing.returncode == 3
    bad = run_picker("fit", str(tmp_path / "nope.gguf"), "--n-gpu-layers", "many")
    assert bad.returncode == 2 and "auto or a whole number" in bad.stderr


def test_exact_sets_llama_cpp_beside_the_plan(model_path: Path) -> None:
    result = run_picker("fit", str(model_path), "--json", "--exact", "--ctx", "2048")
    assert result.returncode == 0, result.stderr
    rows = {row["kind"]: row for row in result.json()["exact"]["rows"]}
    assert rows["kv_cache"]["llama_cpp_bytes"] == rows["kv_cache"]["plan_bytes"]
    assert abs(rows["total"]["error_percent"]) <= 2.0
    text = run_picker("fit", str(model_path), "--exact", "--ctx", "2048")
    assert "llama.cpp dry run vs. this plan" in text.stdout


def test_hub_target_reads_only_the_header(model_path: Path, hub_server: HubServer) -> None:
    hub_server.add_repo("someone/cli-GGUF", {"cli.gguf": model_path})
    remote = run_picker("fit", "hf://someone/cli-GGUF/cli.gguf", "--json", "--ram", "16G")
    assert remote.returncode == 0, remote.stderr
    local = run_picker("fit", str(model_path), "--json", "--ram", "16G")
    assert remote.json()["memory"] == local.json()["memory"]
    fetched = sum(int(r.range.split("-")[1]) - int(r.range.split("=")[1].split("-")[0]) + 1
                  for r in hub_server.requests if r.method == "GET" and r.range)
    assert 0 < fetched < model_path.stat().st_size


def test_exact_for_a_hub_file_uses_a_sparse_header_copy(model_path: Path,
                                                       hub_server: HubServer) -> None:
    hub_server.add_repo("someone/exact-GGUF", {"cli.gguf": model_path})
    result = run_picker("fit", "hf://someone/exact-GGUF/cli.gguf", "--json", "--exact",
                        "--ctx", "2048")
    assert result.returncode == 0, result.stderr
    rows = {row["kind"]: row for row in result.json()["exact"]["rows"]}
    assert rows["kv_cache"]["llama_cpp_bytes"] == rows["kv_cache"]["plan_bytes"] > 0
    assert abs(rows["compute"]["error_percent"]) <= 2.0
    fetched = sum(int(r.range.split("-")[1]) - int(r.range.split("=")[1].split("-")[0]) + 1
                  for r in hub_server.requests if r.method == "GET" and r.range)
    assert fetched < model_path.stat().st_size
    # the sparse copy holds the bytes the header reader fetched: one HEAD, one ranged GET
    assert len(hub_server.requests_to("/resolve/", "HEAD")) == 1
    assert len([r for r in hub_server.requests if r.method == "GET" and r.range]) == 1


def test_usage_errors_suggest_a_catalog_id_that_exists() -> None:
    import re

    from picker.catalog import load_catalog

    known = {f"{m.id}:{q.type}" for m in load_catalog().models for q in m.quantizations}
    for command in (("fit", "not/a/thing"), ("download", "nothing-here")):
        result = run_picker(*command)
        assert result.returncode == 2, result.stderr
        examples = re.findall(r"[a-z0-9.\-]+:[A-Z0-9_]+", result.stderr)
        assert examples and all(example in known for example in examples), result.stderr
