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

from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_qwen4exp import QWEN38_FLASH_NEXT, write_qwen4exp_model
from tests.dry_run_checks import dry_run_failures, same_caches, shipped_row_shape


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
    assert dry_run_failures(gguf_path, "measured -3% to +6%", weights_to_the_byte=False) == []


def test_the_catalog_row_plans_its_caches_as_the_header_does(gguf_path: Path) -> None:
    """The shipped row's facts (catalog/qwen3.8.toml), planned without a header: the same
    KV cache (12 attention blocks, their indexer keys) and recurrent state (the n-gram
    convolution's row included), and the n-gram table kept with the input layer."""
    from_header = shape_from_header(read_header(gguf_path))
    _, from_facts = shipped_row_shape("qwen3.8-flash-next", from_header.weights_bytes)
    assert from_facts.estimated
    same_caches(from_header, from_facts)
    # the table's 51.2B parameters go to the input layer, not to the blocks on a GPU
    assert from_facts.input_weight_bytes > sum(from_facts.layer_weight_bytes) / 3
