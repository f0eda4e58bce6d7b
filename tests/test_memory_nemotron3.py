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

from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_nemotron3 import (
    NEMOTRON_3_NANO,
    NEMOTRON_3_SUPER,
    NemotronHMoeModel,
    write_nemotron_h_moe_model,
)
from tests.dry_run_checks import dry_run_failures, same_caches, shipped_row_shape


@pytest.mark.parametrize("model", [NEMOTRON_3_SUPER, NEMOTRON_3_NANO], ids=lambda m: m.name)
def test_nemotron_h_moe_plans_as_llama_cpp_loads_it(tmp_path: Path,
                                                    model: NemotronHMoeModel) -> None:
    path = write_nemotron_h_moe_model(model, tmp_path / f"{model.name}.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    # the Mamba-2 blocks alone hold a state; the attention blocks alone a KV cache
    assert sum(shape.recurrent_layers) == model.pattern.count("M")
    assert sum(1 for heads in shape.n_head_kv if heads) == model.pattern.count("*")
    assert dry_run_failures(path, "measured -10% to +10%", weights_to_the_byte=True) == []


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
    _, from_facts = shipped_row_shape(row, from_header.weights_bytes)
    assert sum(1 for heads in from_facts.n_head_kv if heads) == model.pattern.count("*")
    same_caches(from_header, from_facts)
