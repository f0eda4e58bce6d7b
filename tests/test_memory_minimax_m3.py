"""MiniMax M3 (llama.cpp's minimax-m3): MiniMax Sparse Attention's indexer cache.

llama_kv_cache_msa keeps, beside the main GQA cache, an indexer cache in every block after
the dense lead: a plain llama_kv_cache with one head, so each cell holds the indexer's key
(128) and a value row of the main head size (128) too. The real-shaped sparse GGUF
(picker/memory/synthetic_archs.py) is in tests/test_memory_archs.py's grid; here the cache
split and the fitted indexer term of the compute buffer at long contexts, against
llama-cpp-python 0.3.36's dry run.
"""

from __future__ import annotations

from pathlib import Path

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from tests.dry_run_checks import inside_stated_range


def test_the_indexer_cache_holds_keys_and_values_in_the_sparse_blocks(tmp_path: Path) -> None:
    path = write_arch_model(ARCH_SHAPES["minimax-m3"], tmp_path / "minimax-m3.gguf")
    shape = shape_from_header(read_header(path))
    assert [il for il, sparse in enumerate(shape.indexer_layers) if not sparse] == [0, 1, 2]
    per_cell = shape.kv_bytes_per_cell("f16", "f16", v_transposed=False)
    assert per_cell[0][0] == 2 * 4 * 128 * 2 and per_cell[3][0] == (2 * 4 * 128 + 2 * 128) * 2
    contexts = tuple(LlamaSettings(n_ctx=n_ctx, flash_attn=flash, type_k=cache, type_v=cache)
                     for n_ctx, flash, cache in ((8192, False, "f16"), (65536, True, "f16"),
                                                 (262144, True, "q8_0")))
    for probe in run_probe(ProbeRequest(str(path), contexts=contexts)):
        assert probe.ok, probe.error
        s = probe.settings
        plan = plan_memory(shape, LlamaSettings(n_ctx=s.n_ctx, flash_attn=s.flash_attn,
                                                type_k=s.type_k, type_v=s.type_v),
                           Machine(cpu_free_bytes=None))
        assert len(probe.log.kv_caches) == 2  # the main cache and the indexer's
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["kv_cache"].within_rounding, (s, rows["kv_cache"])
        note = next(note for note in plan.notes if "compute buffer estimated" in note)
        assert "measured" in note, note
        error = rows["compute"].error_percent
        assert inside_stated_range(note, error), (s, error)
        if s.n_ctx >= 65536:  # the indexer's term, fitted: within 3 % at long contexts
            assert abs(error) <= 3.0, (s, error)
