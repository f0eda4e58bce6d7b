"""Kimi Linear (llama.cpp's kimi-linear) planned against llama-cpp-python 0.3.36's dry run.

A hybrid of Kimi Delta Attention blocks (a recurrent state: three short convolutions and
one 128 x 128 state per head) and MLA blocks (a K-only latent cache), which llama.cpp
marks by their KV head count: 0 in a KDA block. The real-shaped sparse GGUF of Kimi
Linear 48B-A3B (picker/memory/synthetic_archs.py) is in the architecture grid of
tests/test_memory_archs.py; here the same model planned from catalog facts, at the long
contexts the model is for (the shipped catalog row's facts), and the refusal llama.cpp
gives a quantized V cache.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.hooks import shape_from_catalog
from picker.catalog.types import Quantization
from picker.errors import UsageError
from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import ModelShape, shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from tests.dry_run_checks import inside_stated_range

_MODEL = ARCH_SHAPES["kimi-linear-48b-a3b"]


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_arch_model(_MODEL, tmp_path_factory.mktemp("kimi") / "kimi-linear.gguf")


def _from_catalog(file_size_bytes: int) -> ModelShape:
    """The shipped row's facts (catalog/kimi-linear.toml), planned without a header."""
    catalog = load_catalog_from(shipped_data_dir())
    (model,) = [m for m in catalog.models if m.id == "kimi-linear-48b-a3b-instruct"]
    assert model.architecture.full_attention_last_layer == 1
    return shape_from_catalog(model, cast(Quantization, SimpleNamespace(size_bytes=file_size_bytes)),
                              n_ctx_train=model.architecture.context_length)


def test_header_marks_the_kda_blocks_recurrent_and_sizes_their_state(gguf_path: Path) -> None:
    shape = shape_from_header(read_header(gguf_path))
    assert [il for il in range(27) if shape.n_head_kv[il]] == [3, 7, 11, 15, 19, 23, 26]
    assert sum(shape.recurrent_layers) == 20 and shape.is_mla
    # llama.cpp's n_embd_r (Q, K and V convolutions, 3 columns each) and n_embd_s
    assert (shape.recurrent_r_floats, shape.recurrent_s_floats) == (3 * 3 * 4096, 128 * 4096)


@pytest.mark.parametrize("source", ["header", "catalog"])
def test_kv_state_and_stated_compute_range_match_llama_cpp_to_a_million_tokens(
        gguf_path: Path, source: str) -> None:
    """The latent cache of the 7 MLA blocks and the 20 KDA states exact, with a header or
    from catalog facts (the last block attends: full_attention_last_layer); the compute
    buffer on the closed form, inside the range its note states, from 4k to 1M."""
    shape = (shape_from_header(read_header(gguf_path)) if source == "header"
             else _from_catalog(gguf_path.stat().st_size))
    contexts = tuple(LlamaSettings(n_ctx=n_ctx, flash_attn=flash, n_ubatch=n_ubatch,
                                   n_batch=max(512, n_ubatch))
                     for n_ctx in (4096, 131072, 1048576) for flash in (False, True)
                     for n_ubatch in (512, 2048))
    for probe in run_probe(ProbeRequest(str(gguf_path), contexts=contexts)):
        assert probe.ok, probe.error
        s = probe.settings
        plan = plan_memory(shape, LlamaSettings(n_ctx=s.n_ctx, n_batch=s.n_batch,
                                                n_ubatch=s.n_ubatch, flash_attn=s.flash_attn),
                           Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["kv_cache"].within_rounding, (s, rows["kv_cache"])
        assert rows["recurrent"].within_rounding, (s, rows["recurrent"])
        note = next(note for note in plan.notes if "compute buffer estimated" in note)
        assert "measured" in note, note
        error = rows["compute"].error_percent
        assert inside_stated_range(note, error), (s, error)


def test_a_quantized_v_cache_is_refused_as_llama_cpp_refuses_it(gguf_path: Path) -> None:
    """The converter writes value_length 72 (config head_dim): llama.cpp refuses a q8_0 V
    cache with flash attention (blocks of 32), and so does the plan, with a header or from
    catalog facts (whose value_length is the MLA value head's 128)."""
    settings = LlamaSettings(n_ctx=8192, flash_attn=True, type_k="q8_0", type_v="q8_0")
    (probe,) = run_probe(ProbeRequest(str(gguf_path), contexts=(settings,)))
    assert not probe.ok and "n_embd_head_v=72" in (probe.error or "")
    for shape in (shape_from_header(read_header(gguf_path)),
                  _from_catalog(gguf_path.stat().st_size)):
        with pytest.raises(UsageError, match="does not divide n_embd_head_v=72"):
            plan_memory(shape, settings, Machine(cpu_free_bytes=None))


def test_kimi_k3_blocks_hold_the_same_recurrent_state(tmp_path: Path) -> None:
    """kimi-k3 (Kimi K3) marks its KDA blocks as kimi-linear does (no KV heads) and sizes
    their state alike. A reduced layout with every tensor kind its loader asks for (the KDA
    full-rank gate, the MLA output gate, residual scores, latent experts), at small widths:
    K3's own config was not read. Weights, KV cache and state as llama.cpp's dry run."""
    from picker.memory.synthetic_archs import ArchModel

    model = ArchModel(
        "kimi-k3-reduced", "kimi-k3", 12, 1024, 8,
        [1 if il + 1 in (4, 8, 12) else 0 for il in range(12)], 160, 2048, 32000,
        n_ctx_train=262144,
        keys={"attention.kv_lora_rank": 128, "attention.key_length_mla": 96,
              "attention.value_length_mla": 64, "rope.dimension_count": 32,
              "ssm.conv_kernel": 4, "kda.head_dim": 64, "leading_dense_block_count": 1,
              "expert_count": 16, "expert_used_count": 4, "expert_feed_forward_length": 256,
              "expert_shared_count": 2, "expert_latent_length": 512, "expert_gating_func": 2,
              "expert_weights_norm": True, "expert_weights_scale": 1.0,
              "attn_res.block_size": 4, "activation.situ_beta": 4.0,
              "activation.situ_linear_beta": 25.0})
    path = write_arch_model(model, tmp_path / "kimi-k3-reduced.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    assert sum(shape.recurrent_layers) == 9
    assert (shape.recurrent_r_floats, shape.recurrent_s_floats) == (3 * 3 * 512, 64 * 512)
    contexts = (LlamaSettings(n_ctx=8192),
                LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"))
    for probe in run_probe(ProbeRequest(str(path), contexts=contexts)):
        assert probe.ok, probe.error
        s = probe.settings
        plan = plan_memory(shape, LlamaSettings(n_ctx=s.n_ctx, flash_attn=s.flash_attn,
                                                type_k=s.type_k, type_v=s.type_v),
                           Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(
            plan, probe.log, dry_run=True,
            tensor_bytes=sum(tensor.n_bytes for tensor in header.tensors))}
        for kind in ("weights", "kv_cache", "recurrent"):
            assert rows[kind].within_rounding, (s, rows[kind])
