"""`picker catalog add` (local files, folders, hf://) and `remove`, checked through the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.cli_helpers import run_picker
from tests.gguf_samples import write_llama
from tests.hub_server import HubServer


def make_folder(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = write_llama(folder / "tiny-Q8_0.gguf", n_layers=3, n_embd=128, n_head=8, n_head_kv=2)
    files += write_llama(folder / "tiny-F16.gguf", n_layers=3, n_embd=128, n_head=8, n_head_kv=2,
                         weight_type="F16")
    (folder / "mmproj-tiny-f16.gguf").write_bytes(b"not a model")
    return files


def test_add_local_folder_then_show_and_remove(tmp_path: Path) -> None:
    files = make_folder(tmp_path / "models")
    added = run_picker("catalog", "add", str(tmp_path / "models"), "--json")
    assert added.returncode == 0, added.stderr
    [model_id] = added.json()["added"]

    model = run_picker("catalog", "show", model_id, "--json").json()["model"]
    arch = model["architecture"]
    assert (arch["layers"], arch["hidden_size"], arch["heads"], arch["kv_heads"]) == (3, 128, 8, 2)
    assert arch["key_length"] == 16 and arch["vocab_size"] == 320
    sizes = {q["type"]: q["size_bytes"] for q in model["quantizations"]}
    assert sizes == {"Q8_0": files[0].stat().st_size, "F16": files[1].stat().st_size}
    assert not any(q["size_estimated"] for q in model["quantizations"])
    assert {c["quant"] for c in model["on_disk"]} == {"Q8_0", "F16"}
    assert model["license"]["commercial"] is False  # unknown terms are not assumed open

    again = run_picker("catalog", "add", str(files[0]))
    assert again.returncode == 2 and "already" in again.stderr

    listed = run_picker("catalog", "list", "--json", "--family", "user").json()["models"]
    assert [r["id"] for r in listed] == [model_id]
    removed = run_picker("catalog", "remove", model_id)
    assert removed.returncode == 0, removed.stderr
    assert run_picker("catalog", "show", model_id).returncode == 3


def test_shipped_entries_cannot_be_removed_and_missing_paths_are_not_found(tmp_path: Path) -> None:
    assert run_picker("catalog", "remove", "qwen3-8b").returncode == 3
    missing = run_picker("catalog", "add", str(tmp_path / "nowhere"), "--json")
    assert missing.returncode == 3 and missing.json()["error"]["code"] == "not_found"


def test_add_from_the_hub(hub_server: HubServer, tmp_path: Path) -> None:
    files = make_folder(tmp_path / "src")
    data = {p.name: p.read_bytes() for p in files}
    hub_server.add_repo("someone/tiny-GGUF", {**data, "README.md": b"tiny"})
    env = {"HF_ENDPOINT": hub_server.endpoint}
    result = run_picker("catalog", "add", "hf://someone/tiny-GGUF", "--json", env=env)
    assert result.returncode == 0, result.stderr
    [model_id] = result.json()["added"]
    assert model_id == "tiny"
    model = run_picker("catalog", "show", model_id, "--json", env=env).json()["model"]
    assert model["gguf_repo"] == "someone/tiny-GGUF"
    for quant in model["quantizations"]:
        [name] = quant["files"]
        assert quant["size_bytes"] == len(data[name])
        assert quant["sha256"] == [hashlib.sha256(data[name]).hexdigest()]
    assert model["architecture"]["layers"] == 3

    shipped = run_picker("catalog", "add", "hf://bartowski/Llama-3.2-1B-Instruct-GGUF", env=env)
    assert shipped.returncode == 2 and "catalog refresh" in shipped.stderr


def test_a_broken_user_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    from picker.catalog.loader import user_catalog_dir
    from picker.paths import picker_paths

    folder = user_catalog_dir(picker_paths().data_dir)
    folder.mkdir(parents=True)
    (folder / "added.toml").write_text('family = "user"\ntitle = "x"\n[[models]]\nid = "bad"\n')
    result = run_picker("catalog", "list", "--json")
    assert result.returncode == 0
    assert result.json()["count"] >= 40
    assert "skipped your catalog additions" in result.stderr
