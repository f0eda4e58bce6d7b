"""Nemotron 3 Super and Nano (llama.cpp's nemotron_h_moe) against llama-cpp-python 0.3.36's dry run.

Real-shaped sparse GGUFs (picker/memory/synthetic_nemotron3.py): Super 120B-A12B (88
blocks 4096 wide: 40 Mamba-2 of 128 heads, 40 latent MoE blocks of 512 experts of 2688 over
a 1024-wide latent, 22 used, + a shared expert of 5376, 8 attention blocks of 32 / 2 KV heads
of 128; one MTP block) and Nano 30B-A3B (52 blocks 2688 wide, no latent). llama.cpp keeps a
recurrent state only in the Mamba-2 blocks (no KV heads and no FFN width); the MoE blocks
have neither. Weights, KV cache, recurrent state and output must match to llama.cpp's MiB
rounding; the compute buffer, a closed form, within the range the plan states.
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
from picker.memory.synthetic_nemotron3 import (
    NEMOTRON_3_NANO,
    NEMOTRON_3_SUPER,
    NemotronHMoeModel,
    write_nemotron_h_moe_model,
)

_RANGE_RE = re.compile(r"(?P<low>[+-]\d+)% to (?P<high>[+-]\d+)%")
GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True),
        LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"),
        LlamaSettings(n_ctx=131072, flash_attn=True, n_ubatch=2048, n_batch=2048),
        LlamaSettings(n_ctx=65536, n_ubatch=256, n_batch=256),
        LlamaSettings(n_ctx=262144, flash_attn=True, n_seq_max=2))


@pytest.mark.parametrize("model", [NEMOTRON_3_SUPER, NEMOTRON_3_NANO], ids=lambda m: m.name)
def test_nemotron_h_moe_plans_as_llama_cpp_loads_it(tmp_path: Path,
                                                    model: NemotronHMoeModel) -> None:
    path = write_nemotron_h_moe_model(model, tmp_path / f"{model.name}.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    # the Mamba-2 blocks alone hold a state; the attention blocks alone a KV cache
    assert sum(shape.recurrent_layers) == model.pattern.count("M")
    assert sum(1 for heads in shape.n_head_kv if heads) == model.pattern.count("*")
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    failures = []
    for probe in run_probe(ProbeRequest(str(path), contexts=GRID)):
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
        assert "measured -10% to +10%" in note, note
        bounds = _RANGE_RE.search(note)
        assert bounds is not None
        error = rows["compute"].error_percent
        if not int(bounds["low"]) - 0.5 <= error <= int(bounds["high"]) + 0.5:
            failures.append(f"{s}: compute {rows['compute']}")
    assert failures == []


@pytest.mark.parametrize(("model", "row"), [(NEMOTRON_3_SUPER, "nemotron-3-super-120b-a12b"),
                                            (NEMOTRON_3_NANO, "nemotron-3-nano-30b-a3b")],
                         ids=["super", "nano"])
def test_the_catalog_row_plans_its_caches_as_the_header_does(
        tmp_path: Path, model: NemotronHMoeModel, row: str) -> None:
    """The shipped rows' facts (catalog/nemotron.toml: attention_layers, mamba_layers and the
    Mamba-2 sizes in linear_*), planned without a header: the KV cache of the attention
    blocks alone and the Mamba-2 blocks' state, as from the header (they over-counted every
    block's KV cache and planned no state before those fields)."""
    from_header = shape_from_header(read_header(
        write_nemotron_h_moe_model(model, tmp_path / f"{model.name}.gguf")))
    (entry,) = [m for m in load_catalog_from(shipped_data_dir()).models if m.id == row]
    quant = cast(Quantization, SimpleNamespace(size_bytes=from_header.weights_bytes))
    from_facts = shape_from_catalog(entry, quant, n_ctx_train=entry.architecture.context_length)
    assert sum(1 for heads in from_facts.n_head_kv if heads) == model.pattern.count("*")
    for settings in GRID:
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (from_header, from_facts)]
        assert plans[0].total("kv_cache_bytes") == plans[1].total("kv_cache_bytes")
        assert plans[0].recurrent_bytes == plans[1].recurrent_bytes > 0
