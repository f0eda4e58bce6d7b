"""GLM-5.3-Flash (llama.cpp's glm5-next) planned against llama-cpp-python 0.3.36's dry run.

A real-shaped sparse GGUF (picker/memory/synthetic_glm5next.py: 45 blocks 4096 wide + 1
MTP block; 34 Kimi Delta Attention blocks of 64 heads of 128; nope MLA (kv_lora_rank 512,
64 heads of 256) in blocks 4, 8, ..., 44 with a k-pooled DSA indexer of 32 x 128, top
2048; four mHC streams; 3 dense lead blocks of 12288, then 288 experts of 2048, 8 used, +
1 shared) is loaded without allocating: weights (the MTP block skipped), the KV cache (the
MLA latent and the indexer's key, gate and pooled value per cell), the recurrent state and
the output buffer must match to llama.cpp's MiB rounding; the compute buffer, a closed
form, within the range the plan states.
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
from picker.memory.synthetic_glm5next import GLM53_FLASH, write_glm5next_model

_RANGE_RE = re.compile(r"(?P<low>[+-]\d+)% to (?P<high>[+-]\d+)%")
GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True),
        LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"),
        LlamaSettings(n_ctx=131072, flash_attn=True, n_ubatch=2048, n_batch=2048),
        LlamaSettings(n_ctx=65536, n_ubatch=256, n_batch=256),
        LlamaSettings(n_ctx=262144, flash_attn=True, n_seq_max=2))


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_glm5next_model(GLM53_FLASH,
                                tmp_path_factory.mktemp("glm5next") / "glm-5.3-flash.gguf")


def test_header_marks_the_mla_blocks_and_their_pooled_indexer_cache(gguf_path: Path) -> None:
    shape = shape_from_header(read_header(gguf_path))
    attention = [il for il in range(46) if shape.n_head_kv[il]]
    assert attention == list(range(3, 45, 4))  # the MTP block attends only in its own graph
    assert [il for il in range(46) if shape.indexer_layers[il]] == attention
    assert shape.is_mla and sum(shape.recurrent_layers) == 34
    assert shape.indexer[1] == 3 * 128  # key, gate and pooled value per cell
    # llama.cpp's n_embd_r (Q, K, V convolutions of 3 columns) and n_embd_s (128^2 per head)
    assert (shape.recurrent_r_floats, shape.recurrent_s_floats) == (3 * 3 * 8192, 128 * 8192)


def test_glm5next_plans_as_llama_cpp_loads_it(gguf_path: Path) -> None:
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
        for kind in ("kv_cache", "recurrent", "output"):
            if not rows[kind].within_rounding:
                failures.append(f"{s}: {kind} {rows[kind]}")
        if rows["weights"].plan_bytes != rows["weights"].llama_bytes:
            failures.append(f"{s}: weights {rows['weights']}")
        (note,) = [note for note in plan.notes if "compute buffer estimated" in note]
        assert "measured -3% to +48%" in note, note
        bounds = _RANGE_RE.search(note)
        assert bounds is not None
        error = rows["compute"].error_percent
        if not int(bounds["low"]) - 0.5 <= error <= int(bounds["high"]) + 0.5:
            failures.append(f"{s}: compute {rows['compute']}")
    assert failures == []


def test_the_catalog_row_plans_its_caches_as_the_header_does(gguf_path: Path) -> None:
    """The shipped row's facts (catalog/glm.toml), planned without a header: the same KV
    cache (the 11 MLA blocks' latent and pooled indexer rows) and recurrent state."""
    from_header = shape_from_header(read_header(gguf_path))
    catalog = load_catalog_from(shipped_data_dir())
    (model,) = [m for m in catalog.models if m.id == "glm-5.3-flash"]
    quant = cast(Quantization, SimpleNamespace(size_bytes=from_header.weights_bytes))
    from_facts = shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length)
    assert from_facts.estimated
    for settings in GRID:
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (from_header, from_facts)]
        assert plans[0].total("kv_cache_bytes") == plans[1].total("kv_cache_bytes")
        assert plans[0].recurrent_bytes == plans[1].recurrent_bytes > 0
