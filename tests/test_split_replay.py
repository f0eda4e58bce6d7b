"""The scheduler's splits replayed with long runs of alike blocks cut short and the
allocator's decisions recorded once, held to the replay of every block at each size
(tests/test_cpu_moe_llama.py holds that one to llama.cpp's logs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.memory.compute_graph import graph_shape
from picker.memory.shape import ModelShape, shape_from_header
from picker.memory.split_replay import (
    device_compute_bytes,
    reference_split_bytes,
    shortened,
    split_compute_bytes,
)
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model


@pytest.fixture(scope="module", params=["qwen3-30b-a3b", "gpt-oss-20b"])
def deep(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ModelShape:
    """Every block of the real model (48 and 24): runs long enough to be cut."""
    folder = tmp_path_factory.mktemp("deep")
    path = write_arch_model(ARCH_SHAPES[request.param], Path(folder) / "model.gguf")
    return shape_from_header(read_header(path))


@pytest.mark.parametrize("flash_attn", [False, True])
def test_cutting_runs_short_changes_no_devices_buffer(deep: ModelShape, flash_attn: bool) -> None:
    graph = graph_shape(deep, 512, flash_attn, "f16", "f16")
    assert graph is not None
    swa: tuple[int, ...] = deep.__dict__["_graph_facts"].swa
    n_layer = len(swa)
    cut = 0
    for first_gpu_blocks in (n_layer, n_layer // 2, 5):
        blocks = tuple(1 if il < first_gpu_blocks else 2 for il in range(n_layer))
        for moved in (0, 1, 4, first_gpu_blocks - 1, first_gpu_blocks + 3, n_layer):
            moved = min(moved, n_layer)
            for cells, copies in (((16384, 768), 1), ((4096, 256), 1), ((8192, 512), 4)):
                # (recorded once per placement, replayed at each size; 4 copies: pipelined,
                # which llama.cpp does only when nothing is moved)
                if copies > 1 and moved:
                    continue
                full = reference_split_bytes(graph, swa, *cells, blocks, moved, blocks[-1], 3,
                                             copies)
                assert split_compute_bytes(graph, swa, *cells, blocks, moved, blocks[-1], 3,
                                           copies) == full
                for gpu in (1, 2):  # each GPU from its own blocks and their neighbours
                    assert device_compute_bytes(graph, swa, *cells, blocks, moved, blocks[-1],
                                                gpu, copies) == full[gpu]
            cut += n_layer - len(shortened(swa, blocks, moved)[0])
    assert cut > 0  # the runs were long enough to be cut


def test_a_cut_keeps_the_pattern_and_the_moved_prefix() -> None:
    swa = (1, 0) * 24  # gpt-oss's pattern: sliding and full blocks alternate
    blocks = (1,) * 30 + (2,) * 18
    kept, devices, moved = shortened(swa, blocks, 20)
    assert len(kept) < len(swa)
    assert kept == (1, 0) * (len(kept) // 2)  # the alternation intact
    assert devices == tuple(sorted(devices)) and set(devices) == {1, 2}
    assert 0 < moved < devices.index(2)  # some blocks of the first GPU still keep experts
