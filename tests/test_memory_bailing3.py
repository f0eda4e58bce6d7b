"""Ling 3.0 (llama.cpp's bailingmoe3) planned as llama-cpp-python 0.3.36's dry run sizes it.

A real-shaped sparse GGUF of Ling-3.0-tiny (picker/memory/synthetic_bailing3.py): 18 Kimi
Delta Attention blocks hold a recurrent state (Q/K/V short convolutions and a per-head
state), 6 MLA blocks a K-only latent cache. Weights, KV cache, state and output must match
to llama.cpp's MiB rounding, from the header and from catalog facts; the compute buffer
(never replayed) within the range the plan states.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.estimate import Layout, shape_from_facts
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import write_arch_model
from picker.memory.synthetic_bailing3 import LING_3_TINY, full_attention_layers
from tests.dry_run_checks import inside_stated_range

GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, n_ubatch=256),
        LlamaSettings(n_ctx=131072, flash_attn=True, type_k="q8_0", type_v="q8_0"))


def test_mla_blocks_sit_where_the_converter_puts_them() -> None:
    assert full_attention_layers(24, 4) == [3, 7, 11, 15, 19, 23]
    assert full_attention_layers(42, 4) == [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 40, 41]


def test_ling_3_tiny_matches_llama_cpp_with_and_without_query_compression(
        tmp_path: Path) -> None:
    variants = (LING_3_TINY,
                replace(LING_3_TINY, keys={**LING_3_TINY.keys, "attention.q_lora_rank": 0}))
    for index, model in enumerate(variants):
        path = write_arch_model(model, tmp_path / f"ling3-{index}.gguf")
        header = read_header(path)
        shape = shape_from_header(header)
        assert sum(shape.recurrent_layers) == 18
        tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
        for probe in run_probe(ProbeRequest(str(path), contexts=GRID[index:index + 2])):
            assert probe.ok, probe.error
            context = probe.settings
            settings = LlamaSettings(n_ctx=context.n_ctx, n_batch=context.n_batch,
                                     n_ubatch=context.n_ubatch, flash_attn=context.flash_attn,
                                     type_k=context.type_k, type_v=context.type_v)
            plan = plan_memory(shape, settings, Machine(cpu_free_bytes=None))
            rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True,
                                                     tensor_bytes=tensor_bytes)}
            for kind in ("weights", "kv_cache", "recurrent", "output"):
                assert rows[kind].within_rounding, (context, rows[kind])
            note = next(n for n in plan.notes if "compute buffer estimated" in n)
            assert "measured" in note, note
            error = rows["compute"].error_percent
            assert inside_stated_range(note, error), (error, note)


def test_ling_3_tiny_from_catalog_facts_plans_the_cache_and_state_as_the_header_does(
        tmp_path: Path) -> None:
    model = LING_3_TINY
    keys = model.keys
    exact = shape_from_header(read_header(write_arch_model(model, tmp_path / "ling3.gguf")))
    facts = shape_from_facts(
        architecture="bailingmoe3", n_layer=model.n_layer, n_embd=model.n_embd,
        n_head=model.n_head, n_head_kv=model.n_head, n_vocab=model.n_vocab,
        n_ctx_train=model.n_ctx_train, file_size_bytes=exact.file_size_bytes,
        key_length=keys["attention.key_length_mla"], value_length=keys["attention.value_length_mla"],
        n_ff=model.n_ff, n_expert=keys["expert_count"], n_expert_used=keys["expert_used_count"],
        kv_lora_rank=keys["attention.kv_lora_rank"], rope_dim=keys["rope.dimension_count"],
        tied_embeddings=False,
        layout=Layout(n_ff_expert=512, n_ff_shared=512, n_layer_dense_lead=1,
                      full_attention_interval=4, linear_conv_kernel=4, linear_key_heads=16,
                      linear_value_heads=16, linear_key_head_dim=128,
                      linear_value_head_dim=128))
    for settings in GRID:
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (exact, facts)]
        assert plans[1].total("kv_cache_bytes") == plans[0].total("kv_cache_bytes")
        assert plans[1].recurrent_bytes == plans[0].recurrent_bytes
