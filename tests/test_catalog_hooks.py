"""Catalog ids for `picker download` and `picker fit` (MODEL_ID:QUANT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.catalog import fit_shape, hub_files, load_catalog
from picker.errors import NotFoundError, UsageError
from tests.cli_helpers import run_picker
from tests.hub_server import HubServer


def test_hub_files_names_the_repo_file_and_exact_size() -> None:
    files = hub_files("llama-3.1-8b-instruct:Q4_K_M")
    assert files.repo_id == "lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF"
    assert files.filenames == ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",)
    assert files.expected_sizes == {"Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf": 4920739168}
    parts = hub_files("deepseek-v3.1:Q4_K_M")
    assert len(parts.filenames) == 9 and parts.expected_sizes == {}  # estimated: no size hint


def test_bad_ids_say_what_exists() -> None:
    with pytest.raises(NotFoundError, match=r"it has: .*Q4_K_M"):
        hub_files("qwen3-8b:Q9_9")
    with pytest.raises(NotFoundError, match="did you mean 'qwen3-8b'"):
        hub_files("qwen3-8:Q4_K_M")
    with pytest.raises(UsageError, match="MODEL_ID:QUANT"):
        hub_files("qwen3-8b")
    with pytest.raises(UsageError, match="catalog refresh deepseek-r1"):
        hub_files("deepseek-r1:Q8_0")  # split files whose names only a refresh knows


def test_fit_shape_uses_the_catalog_facts() -> None:
    model = load_catalog().model("gemma-3-12b-it")
    assert model is not None
    quant = model.quantization("Q4_K_M")
    assert quant is not None
    shape = fit_shape("gemma-3-12b-it:Q4_K_M")
    assert shape.n_layer == model.architecture.layers
    assert shape.n_embd == model.architecture.hidden_size
    assert shape.file_size_bytes == quant.size_bytes and shape.estimated
    assert sum(shape.swa_layers) == model.architecture.layers - model.architecture.layers // 6


def test_download_by_catalog_id(hub_server: HubServer, tmp_path: Path) -> None:
    data = b"GGUF" + b"\0" * 4096
    hub_server.add_repo("bartowski/Llama-3.2-1B-Instruct-GGUF",
                        {"Llama-3.2-1B-Instruct-Q4_K_M.gguf": data})
    result = run_picker("download", "llama-3.2-1b-instruct:Q4_K_M", "--dir", str(tmp_path / "m"),
                        "--json", env={"HF_ENDPOINT": hub_server.endpoint})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m" / "Llama-3.2-1B-Instruct-Q4_K_M.gguf").read_bytes() == data
