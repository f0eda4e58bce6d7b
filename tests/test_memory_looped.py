"""Looped models (llama.cpp's nanbeige: Nanbeige 4.2) planned as llama.cpp loads them.

The GGUF holds `block_count` physical blocks; llama.cpp runs them `num_loops` times over
the same weights, and every pass has a KV cache of its own. Held against llama-cpp-python
0.3.36's no-alloc dry run on real-shaped sparse files: the KV cache and the replayed
compute buffer to llama.cpp's MiB rounding, the weights counted once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model

CONTEXTS = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True,
                                                      type_k="q8_0", type_v="q8_0"))


@pytest.mark.parametrize(("loops", "skip_norm"), [(1, False), (3, False), (2, True)])
def test_looped_blocks_hold_a_cache_per_pass_and_their_weights_once(
        tmp_path: Path, loops: int, skip_norm: bool) -> None:
    """One, two or three passes, with and without the norm between passes: as many KV
    caches as passes times blocks, the weights of the physical blocks only, and the
    compute buffer replayed to llama.cpp's rounding."""
    base = ARCH_SHAPES["nanbeige-4.2-3b"]
    model = replace(base, keys={"num_loops": loops, "skip_loop_final_norm": skip_norm})
    path = write_arch_model(model, tmp_path / f"nanbeige-{loops}-{int(skip_norm)}.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    assert shape.n_layer == base.n_layer * loops
    assert sum(1 for heads in shape.n_head_kv if heads) == base.n_layer * loops
    assert not any(shape.layer_weight_bytes[base.n_layer:])
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    for probe in run_probe(ProbeRequest(str(path), contexts=CONTEXTS)):
        assert probe.ok, probe.error
        plan = plan_memory(shape, probe.settings, Machine(cpu_free_bytes=None))
        assert not [note for note in plan.notes if "compute buffer estimated" in note]
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True,
                                                 tensor_bytes=tensor_bytes)}
        for kind in ("weights", "kv_cache", "compute", "output"):
            assert rows[kind].within_rounding, (probe.settings, rows[kind])
