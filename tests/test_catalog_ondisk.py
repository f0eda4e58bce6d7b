"""Catalog models already on disk are recognised in the HF cache, picker, LM Studio, Ollama."""

from __future__ import annotations

import json
import os
from pathlib import Path

from picker.catalog import load_catalog
from picker.catalog.ondisk import LocalRoots, find_local_copies
from tests.cli_helpers import run_picker


def catalog_sha(model_id: str, quant_type: str) -> str:
    """The sha256 the shipped catalog records for a file: what an Ollama blob is matched on."""
    model = load_catalog().model(model_id)
    quant = model.quantization(quant_type) if model is not None else None
    assert quant is not None and quant.sha256, (model_id, quant_type)
    return quant.sha256[0]


def write(path: Path, data: bytes = b"GGUF") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def hf_cache_file(cache: Path, repo: str, name: str) -> Path:
    """A file the way huggingface_hub stores it: a snapshot link to a blob."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    blob = write(folder / "blobs" / (name.replace("/", "_") + "-blob"))
    link = folder / "snapshots" / "0123abc" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(blob, link.parent), link)
    return link


def make_machine(root: Path) -> LocalRoots:
    hf = root / "hf" / "hub"
    hf_cache_file(hf, "bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf")
    # only one of GLM-4.5-Air Q4_K_M's two parts: not a usable copy
    hf_cache_file(hf, "unsloth/GLM-4.5-Air-GGUF", "Q4_K_M/GLM-4.5-Air-Q4_K_M-00001-of-00002.gguf")
    lms = root / "home" / ".lmstudio" / "models"
    write(lms / "lmstudio-community" / "Meta-Llama-3.1-8B-Instruct-GGUF"
          / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    picker_models = root / "picker-home" / "data" / "models"
    write(picker_models / "some" / "Qwen2.5-7B-Instruct-Q8_0.gguf")
    ollama = root / "ollama"
    oss_20b_sha = catalog_sha("gpt-oss-20b", "MXFP4_MOE")
    write(ollama / "blobs" / f"sha256-{oss_20b_sha}")
    manifest = {"layers": [{"mediaType": "application/vnd.ollama.image.model",
                            "digest": f"sha256:{oss_20b_sha}"}]}
    write(ollama / "manifests" / "registry.ollama.ai" / "library" / "gpt-oss" / "20b",
          json.dumps(manifest).encode())
    return LocalRoots(hf, picker_models, (lms,), ollama)


def test_copies_are_found_in_every_location(tmp_path: Path) -> None:
    copies = find_local_copies(load_catalog(), make_machine(tmp_path))
    found = {(c.model_id, c.quant, c.location, c.read_only) for c in copies}
    assert found == {
        ("llama-3.2-1b-instruct", "Q4_K_M", "hf-cache", False),
        ("llama-3.1-8b-instruct", "Q4_K_M", "lmstudio", True),
        ("qwen2.5-7b-instruct", "Q8_0", "picker", False),
        ("gpt-oss-20b", "MXFP4_MOE", "ollama", True),
    }
    assert all(p.exists() for c in copies for p in c.paths)


def test_damaged_ollama_manifests_are_skipped(tmp_path: Path) -> None:
    roots = make_machine(tmp_path)
    assert roots.ollama is not None
    library = roots.ollama / "manifests" / "registry.ollama.ai" / "library"
    for name, data in {"deep": b"[" * 100_000 + b"]" * 100_000, "list": b"[1, 2]",
                       "layers-text": b'{"layers": "x"}', "bad-utf8": b'{"layers": "\xff"}',
                       "random": os.urandom(512)}.items():
        write(library / "junk" / name, data)
    os.mkfifo(library / "junk" / "fifo")
    found = {(c.model_id, c.location) for c in find_local_copies(load_catalog(), roots)}
    assert ("gpt-oss-20b", "ollama") in found


def test_nothing_found_on_an_empty_machine(tmp_path: Path) -> None:
    roots = LocalRoots(tmp_path / "a", tmp_path / "b", (tmp_path / "c",), tmp_path / "d")
    assert find_local_copies(load_catalog(), roots) == []


def test_cli_marks_models_on_disk(tmp_path: Path) -> None:
    make_machine(tmp_path)
    env = {
        "HF_HOME": str(tmp_path / "hf"),
        "PICKER_HOME": str(tmp_path / "picker-home"),
        "HOME": str(tmp_path / "home"),
        "OLLAMA_MODELS": str(tmp_path / "ollama"),
    }
    listing = run_picker("catalog", "list", "--on-disk", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {r["id"]: r["on_disk"] for r in listing.json()["models"]}
    assert rows == {
        "llama-3.2-1b-instruct": ["Q4_K_M"],
        "llama-3.1-8b-instruct": ["Q4_K_M"],
        "qwen2.5-7b-instruct": ["Q8_0"],
        "gpt-oss-20b": ["MXFP4_MOE"],
    }
    shown = run_picker("catalog", "show", "llama-3.1-8b-instruct", "--json", env=env).json()
    [copy] = shown["model"]["on_disk"]
    assert copy["location"] == "lmstudio" and copy["read_only"] is True
