"""Qwen3.8-Flash-Next (llama.cpp's qwen4exp) planned against llama-cpp-python 0.3.36's dry run.

A real-shaped sparse GGUF (picker/memory/synthetic_qwen4exp.py: 48 blocks 2560 wide, 12
QSA attention blocks of 24 heads / 2 KV heads of 256 with a 4 x 128 indexer, 36 gated
delta net blocks, 512 experts of 640, four hyper-connection streams, the n-gram table of
320,001,536 rows of 160 in block 1) is loaded without allocating: weights, the KV cache
(attention and the indexer's per-cell keys), the recurrent state (the delta nets' and the
n-gram convolution's row) and the output buffer must match to llama.cpp's MiB rounding;
the compute buffer, a closed form, within the range the plan states.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.hooks import shape_from_catalog
from picker.catalog.types import Quantization
from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_qwen4exp import QWEN38_FLASH_NEXT, write_qwen4exp_model

_RANGE_RE = re.compile(r"(?P<low>[+-]\d+)% to (?P<high>[+-]\d+)%")
GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True),
        LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"),
        LlamaSettings(n_ctx=131072, flash_attn=True, n_ubatch=2048, n_batch=2048),
        LlamaSettings(n_ctx=65536, n_ubatch=256, n_batch=256),
        LlamaSettings(n_ctx=262144, flash_attn=True, n_seq_max=2))


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_qwen4exp_model(QWEN38_FLASH_NEXT,
                                tmp_path_factory.mktemp("qwen4exp") / "qwen3.8-flash-next.gguf")


def test_header_marks_the_attention_blocks_and_their_indexer_cache(gguf_path: Path) -> None:
    shape = shape_from_header(read_header(gguf_path))
    attention = [il for il in range(48) if shape.n_head_kv[il]]
    assert attention == list(range(3, 48, 4))
    assert [il for il in range(48) if shape.indexer_layers[il]] == attention
    assert sum(shape.recurrent_layers) == 36 and shape.indexer[1] == 128
    # llama.cpp's n_embd_r / n_embd_s, and the n-gram convolution's own row in block 1:
    # (kernel 4 - 1) x n-gram size 3 x 4 streams x 2560
    assert (shape.recurrent_r_floats, shape.recurrent_s_floats) == (3 * 10240, 128 * 6144)
    assert [il for il, floats in enumerate(shape.recurrent_extra_floats) if floats] == [1]
    assert shape.recurrent_extra_floats[1] == 3 * 3 * 4 * 2560
    # the 51B-parameter n-gram table stays with the token embeddings (the input layer)
    table = next(t for t in read_header(gguf_path).tensors
                 if t.name == "per_layer_token_embd.weight")
    assert shape.input_weight_bytes > table.n_bytes


def test_qwen4exp_plans_as_llama_cpp_loads_it(gguf_path: Path) -> None:
    header = read_header(gguf_path)
    shape = shape_from_header(header)
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    failures = []
    for probe in run_probe(ProbeRequest(str(gguf_path), contexts=GRID)):
        assert probe.ok, probe.error
        s = probe.settings
        plan = plan_memory(shape, LlamaSettings(
            n_ctx=s.n_ctx, n_batch=s.n_batch, n_ubatch=s.n_ubatch, flash_attn=s.flash_attn,
            type_k=s.type_k, type_v=s.type_v, n_seq_max=s.n_seq_max), Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True,
                                                 tensor_bytes=tensor_bytes)}
        for kind in ("weights", "kv_cache", "recurrent", "output"):
            if not rows[kind].within_rounding:
                failures.append(f"{s}: {kind} {rows[kind]}")
        (note,) = [note for note in plan.notes if "compute buffer estimated" in note]
        assert "measured -3% to +6%" in note, note
        bounds = _RANGE_RE.search(note)
        assert bounds is not None
        error = rows["compute"].error_percent
        if not int(bounds["low"]) - 0.5 <= error <= int(bounds["high"]) + 0.5:
            failures.append(f"{s}: compute {rows['compute']}")
    assert failures == []


def test_the_catalog_row_plans_its_caches_as_the_header_does(gguf_path: Path) -> None:
    """The shipped row's facts (catalog/qwen3.8.toml), planned without a header: the same
    KV cache (12 attention blocks, their indexer keys) and recurrent state (the n-gram
    convolution's row included), and the n-gram table kept with the input layer."""
    header = read_header(gguf_path)
    from_header = shape_from_header(header)
    catalog = load_catalog_from(shipped_data_dir())
    (model,) = [m for m in catalog.models if m.id == "qwen3.8-flash-next"]
    quant = cast(Quantization, SimpleNamespace(size_bytes=from_header.weights_bytes))
    from_facts = shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length)
    assert from_facts.estimated
    for settings in GRID:
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (from_header, from_facts)]
        assert plans[0].total("kv_cache_bytes") == plans[1].total("kv_cache_bytes")
        assert plans[0].recurrent_bytes == plans[1].recurrent_bytes > 0
    # the table's 51.2B parameters go to the input layer, not to the blocks on a GPU
    assert from_facts.input_weight_bytes > sum(from_facts.layer_weight_bytes) / 3
