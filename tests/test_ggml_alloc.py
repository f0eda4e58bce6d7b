"""The replay of ggml's graph allocator: its rules, recording and skipping.

The figures against llama.cpp itself are in test_memory_accuracy.py; these check the
allocator's rules one by one (from ggml-alloc.c), and that replaying recorded blocks
and skipping those that would repeat earlier placements always give the answer of
placing every node of every block.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from picker.memory.compute_graph import (
    graph_compute_bytes,
    graph_shape,
    reference_bytes,
    replay,
)
from picker.memory.estimate import shape_from_facts
from picker.memory.ggml_alloc import Arena, Node, run


def test_best_fit_takes_the_smallest_hole_that_fits() -> None:
    arena = Arena()
    addrs = [arena.alloc(size) for size in (64, 32, 64, 32, 64, 32)]
    assert addrs == [0, 64, 96, 160, 192, 256]
    for index in (0, 2, 4):
        arena.release(addrs[index], 64)
    arena.release(addrs[3], 32)  # joins the holes at 96 and 192: 160 bytes from 96
    assert arena.state() == (0, 64, 96, 160, 288)
    assert arena.alloc(64) == 0  # the exact hole, not the larger one
    assert arena.alloc(64) == 96
    assert arena.alloc(200) == 288  # no hole fits: the open end, which grows the buffer
    assert arena.high == 488


def test_equal_holes_go_to_the_later_one() -> None:
    arena = Arena()
    a, _, c, _ = (arena.alloc(size) for size in (64, 32, 64, 32))
    arena.release(a, 64)
    arena.release(c, 64)
    assert arena.alloc(64) == c


def test_freed_neighbours_merge_and_the_open_end_grows() -> None:
    arena = Arena()
    a, b, c = (arena.alloc(64) for _ in range(3))
    arena.release(a, 64)
    arena.release(c, 64)  # merges with the open end
    arena.release(b, 64)  # joins both
    assert arena.state() == (0,)
    assert arena.alloc(1024) == 0
    assert arena.high == 1024


def test_in_place_ops_reuse_their_only_consumer_parent() -> None:
    arena = Arena()
    source = Node(4096, (0, 1024), False, ())
    norm = Node(4096, (0, 1024), True, (source,))  # source has one consumer: reused
    scaled = Node(4096, (0, 1024), True, (norm,))
    wider = Node(8192, (0, 2048), True, (scaled,))  # another layout: new memory
    run(arena, [source, norm, scaled, wider])
    assert norm.addr == scaled.addr == source.addr == 0
    assert wider.addr == 4096
    assert arena.high == 4096 + 8192


def test_only_the_last_consumer_reuses_a_parent_and_never_an_output() -> None:
    arena = Arena()
    shared = Node(256, (0, 64), False, ())
    first = Node(256, (0, 64), True, (shared,))  # shared has another consumer to come
    second = Node(256, (0, 64), True, (shared,))  # the last one: takes it over
    logits = Node(256, (0, 64), False, (first, second), output=True)
    after = Node(256, (0, 64), True, (logits,))
    run(arena, [shared, first, second, logits, after])
    assert first.addr != shared.addr
    assert second.addr == shared.addr
    assert after.addr != logits.addr
    assert logits.allocated  # outputs are never freed


def test_views_keep_their_source_alive() -> None:
    arena = Arena()
    source = Node(512, (0, 128), False, ())
    view = Node(0, (), False, (source,), view_src=source)
    reader = Node(512, (0, 128), False, (view,))
    run(arena, [source, view, reader])
    assert reader.addr == 512  # the source was still in use while the reader was placed
    assert not source.allocated  # and freed after its view's last consumer


SHAPES: dict[str, dict[str, Any]] = {
    "llama": dict(architecture="llama", n_layer=32, n_embd=4096, n_head=32, n_head_kv=8,
                  n_vocab=128256, n_ff=14336),
    "nemo": dict(architecture="llama", n_layer=40, n_embd=5120, n_head=32, n_head_kv=8,
                 key_length=128, value_length=128, n_vocab=131072, n_ff=14336),
    "moe": dict(architecture="llama", n_layer=7, n_embd=2048, n_head=16, n_head_kv=4,
                n_vocab=32000, n_ff=5632, n_expert=8, n_expert_used=3),
    "qwen2": dict(architecture="qwen2", n_layer=24, n_embd=896, n_head=14, n_head_kv=2,
                  n_vocab=151936, n_ff=4864, tied_embeddings=True),
    "qwen3": dict(architecture="qwen3", n_layer=28, n_embd=1024, n_head=16, n_head_kv=8,
                  key_length=128, value_length=128, n_vocab=151936, n_ff=3072),
    "gemma2": dict(architecture="gemma2", n_layer=26, n_embd=2304, n_head=8, n_head_kv=4,
                   key_length=256, value_length=256, n_vocab=256000, n_ff=9216,
                   sliding_window=4096),
    "gemma3": dict(architecture="gemma3", n_layer=35, n_embd=2560, n_head=8, n_head_kv=4,
                   key_length=256, value_length=256, n_vocab=262208, n_ff=10240,
                   sliding_window=1024),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_recorded_and_skipped_blocks_give_the_full_placement(name: str) -> None:
    shape = shape_from_facts(n_ctx_train=131072, file_size_bytes=10**9, **SHAPES[name])
    swa = shape.swa_layers or (False,) * shape.n_layer
    for n_ctx, n_ubatch, flash, cache in itertools.product(
            (512, 5120, 40960), (64, 512), (False, True), ("f16", "q8_0")):
        if cache != "f16" and not flash:
            continue
        graph = graph_shape(shape, n_ubatch, flash, cache, cache)
        assert graph is not None
        swa_cells = min(n_ctx, 1280 + n_ubatch) if shape.n_swa else 0
        replayed = replay(graph, swa, n_ctx, swa_cells)
        assert replayed == reference_bytes(graph, swa, n_ctx, swa_cells)
        assert replayed > n_ubatch * shape.n_vocab * 4  # at least the logits


def test_models_the_replay_does_not_build_fall_back() -> None:
    mla = shape_from_facts(architecture="deepseek2", n_layer=4, n_embd=1024, n_head=8,
                           n_head_kv=8, n_vocab=32000, n_ctx_train=4096,
                           file_size_bytes=10**8, kv_lora_rank=512, rope_dim=64)
    assert graph_compute_bytes(mla, 4096, 0, 512, False, "f16", "f16") is None
    varying = shape_from_facts(architecture="llama", n_layer=4, n_embd=1024, n_head=8,
                               n_head_kv=[8, 8, 2, 2], n_vocab=32000, n_ctx_train=4096,
                               file_size_bytes=10**8)
    assert graph_compute_bytes(varying, 4096, 0, 512, False, "f16", "f16") is None
