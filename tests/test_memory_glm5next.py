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

from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_glm5next import GLM53_FLASH, write_glm5next_model
from tests.dry_run_checks import dry_run_failures, same_caches, shipped_row_shape


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
    assert dry_run_failures(gguf_path, "measured -3% to +48%", weights_to_the_byte=True) == []


def test_the_catalog_row_plans_its_caches_as_the_header_does(gguf_path: Path) -> None:
    """The shipped row's facts (catalog/glm.toml), planned without a header: the same KV
    cache (the 11 MLA blocks' latent and pooled indexer rows) and recurrent state."""
    from_header = shape_from_header(read_header(gguf_path))
    _, from_facts = shipped_row_shape("glm-5.3-flash", from_header.weights_bytes)
    assert from_facts.estimated
    same_caches(from_header, from_facts)
