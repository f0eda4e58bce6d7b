"""`picker catalog refresh` against the local stand-in Hub: exact sizes replace estimates."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from picker.catalog import load_catalog
from picker.catalog.hubfiles import ListedFile, find_quantizations
from picker.catalog.overlay import overlay_path
from picker.paths import picker_paths
from tests.cli_helpers import run_picker
from tests.hub_server import HubServer

ONE_B = "llama-3.2-1b-instruct"
ONE_B_REPO = "bartowski/Llama-3.2-1B-Instruct-GGUF"
THREE_B_REPO = "bartowski/Llama-3.2-3B-Instruct-GGUF"


def publish_one_b(hub: HubServer) -> dict[str, bytes]:
    files = {
        "Llama-3.2-1B-Instruct-Q4_K_M.gguf": b"q4" * 700,
        "Llama-3.2-1B-Instruct-Q8_0.gguf": b"q8" * 1100,
        "Llama-3.2-1B-Instruct-f16.gguf": b"16" * 2000,
        "README.md": b"# quants",
    }
    hub.add_repo(ONE_B_REPO, files)
    return files


def test_refresh_replaces_estimates_with_the_hub_files(hub_server: HubServer) -> None:
    files = publish_one_b(hub_server)
    before = load_catalog().model(ONE_B)
    assert before is not None
    untouched = load_catalog().model("llama-3.2-3b-instruct")
    assert untouched is not None
    estimated_before = {q.type: q.size_estimated for q in untouched.quantizations}
    assert any(q.size_estimated for q in before.quantizations)  # estimates the refresh replaces

    result = run_picker("catalog", "refresh", ONE_B, "--json", env={"HF_ENDPOINT": hub_server.endpoint})
    assert result.returncode == 0, result.stderr
    assert result.json()["refresh"]["refreshed"] == [ONE_B]

    shown = run_picker("catalog", "show", ONE_B, "--json").json()["model"]
    by_type = {q["type"]: q for q in shown["quantizations"]}
    assert set(by_type) == {"Q4_K_M", "Q8_0", "F16"}  # what the repo really has
    for quant in by_type.values():
        data = files[quant["files"][0]]
        assert not quant["size_estimated"]
        assert quant["size_bytes"] == len(data)
        assert quant["sha256"] == [hashlib.sha256(data).hexdigest()]
    other = run_picker("catalog", "show", "llama-3.2-3b-instruct", "--json").json()["model"]
    # refreshing one model leaves another exactly as shipped
    assert {q["type"]: q["size_estimated"] for q in other["quantizations"]} == estimated_before


def test_refresh_with_headers_makes_the_architecture_exact(
    hub_server: HubServer, tmp_path: Path
) -> None:
    from picker.gguf import read_header
    from tests.gguf_samples import write_llama

    [path] = write_llama(tmp_path / "Llama-3.2-1B-Instruct-Q8_0.gguf", n_layers=3, n_embd=128,
                         n_head=8, n_head_kv=2)
    hub_server.add_repo(ONE_B_REPO, {path.name: path.read_bytes()})
    result = run_picker("catalog", "refresh", ONE_B, "--headers", "--json",
                        env={"HF_ENDPOINT": hub_server.endpoint})
    assert result.returncode == 0, result.stderr
    model = run_picker("catalog", "show", ONE_B, "--json").json()["model"]
    arch = model["architecture"]
    assert (arch["layers"], arch["hidden_size"], arch["kv_heads"]) == (3, 128, 2)
    assert arch["source"] == "hub-refresh"
    assert arch["max_context_length"] == 131072 and arch["rope_scaling"] == "llama3"
    expected = sum(t.n_elements for t in read_header(path).tensors)
    assert model["parameters"] == expected


def test_refresh_reports_a_gated_repo_and_keeps_the_rest(hub_server: HubServer) -> None:
    publish_one_b(hub_server)
    hub_server.add_repo(THREE_B_REPO, {"Llama-3.2-3B-Instruct-Q4_K_M.gguf": b"x" * 10}, gated=True)
    hub_server.repos[THREE_B_REPO].private = True  # invisible without a token
    result = run_picker("catalog", "refresh", ONE_B, "llama-3.2-3b-instruct", "--json",
                        env={"HF_ENDPOINT": hub_server.endpoint})
    assert result.returncode == 0, result.stderr
    document = result.json()["refresh"]
    assert document["refreshed"] == [ONE_B]
    assert [f["id"] for f in document["failed"]] == ["llama-3.2-3b-instruct"]
    assert "llama-3.2-3b-instruct:" in result.stderr


def test_offline_refresh_is_one_line_and_the_catalog_still_works() -> None:
    result = run_picker("catalog", "refresh", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert "shipped catalog" in result.stderr
    listing = run_picker("catalog", "list", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert listing.returncode == 0 and listing.json()["count"] >= 40


def test_damaged_overlay_is_ignored(tmp_path: Path) -> None:
    cache = picker_paths().cache_dir
    cache.mkdir(parents=True)
    overlay_path(cache).write_text(json.dumps({"format": 1, "models": {ONE_B: {
        "repo": ONE_B_REPO,
        "quantizations": [{"quant": "Q9_Z", "files": ["a.gguf"], "size_bytes": 5, "sha256": []}],
    }}}))
    model = load_catalog().model(ONE_B)
    assert model is not None and model.quantizations
    assert all(q.source != "hub-refresh" for q in model.quantizations)
    overlay_path(cache).write_text("{broken")
    assert load_catalog().model(ONE_B) is not None


def test_file_names_map_to_quant_types() -> None:
    listing = [
        ListedFile("Q8_0/M-Q8_0-00001-of-00002.gguf", 5, "b" * 64),
        ListedFile("Q8_0/M-Q8_0-00002-of-00002.gguf", 6, "c" * 64),
        ListedFile("M-UD-Q4_K_M.gguf", 3, None),
        ListedFile("M-Q4_K_M.gguf", 4, None),
        ListedFile("mmproj-M-f16.gguf", 1, None),
        ListedFile("mixtral.Q5_K_M.gguf", 7, None),
        ListedFile("ggml-model-q4_k.gguf", 8, None),
        ListedFile("M-bf16.gguf", 9, None),
    ]
    found = {f.quant: f for f in find_quantizations(listing, load_catalog().quant_types)}
    assert set(found) == {"Q8_0", "Q4_K_M", "Q5_K_M", "BF16"}
    assert found["Q8_0"].size_bytes == 11 and len(found["Q8_0"].sha256) == 2
    assert found["Q4_K_M"].files in (("M-Q4_K_M.gguf",), ("ggml-model-q4_k.gguf",))
    assert found["Q4_K_M"].files != ("M-UD-Q4_K_M.gguf",)
