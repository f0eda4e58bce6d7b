"""Parallel slots (`-np`) with and without a unified KV cache, checked against llama.cpp's
own dry run on a real-shaped sliding-window model (gpt-oss: 128-token window in every
other block)."""

from __future__ import annotations

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
from picker.units import format_size
from tests.cli_helpers import run_picker

CASES = [(4, False, True), (4, True, True), (4, False, False), (4, True, False), (3, True, False)]


@pytest.fixture(scope="module")
def gpt_oss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_arch_model(ARCH_SHAPES["gpt-oss-20b"],
                            tmp_path_factory.mktemp("slots") / "gpt-oss-20b.gguf")


def test_kv_cache_of_slots_matches_llama_cpp(gpt_oss: Path) -> None:
    shape = shape_from_header(read_header(gpt_oss))
    contexts = tuple(LlamaSettings(n_ctx=8192, flash_attn=True, swa_full=swa_full,
                                     n_seq_max=slots, kv_unified=unified)
                     for slots, unified, swa_full in CASES)
    probes = run_probe(ProbeRequest(model_path=str(gpt_oss), contexts=contexts))
    sizes = set()
    for (slots, unified, swa_full), probe in zip(CASES, probes, strict=True):
        assert probe.ok, probe.error
        settings = LlamaSettings(n_ctx=8192, flash_attn=True, swa_full=swa_full, n_seq_max=slots,
                            kv_unified=unified)
        plan = plan_memory(shape, settings, Machine(gpus=(), cpu_free_bytes=None))
        (kv,) = [row for row in compare(plan, probe.log, dry_run=True) if row.kind == "kv_cache"]
        assert kv.plan_bytes == kv.llama_bytes, (slots, unified, swa_full)
        sizes.add(kv.plan_bytes)
    assert len(sizes) >= 3  # the cases really differ


def test_fit_plans_slots_and_emits_them(gpt_oss: Path) -> None:
    args = ("fit", str(gpt_oss), "--ram", "64G", "--ctx", "16384", "--parallel", "4")
    split = run_picker(*args, "--json")
    assert split.returncode == 0, split.stderr
    document = split.json()
    assert document["settings"]["n_seq_max"] == 4 and "kv_unified" not in document["settings"]
    assert document["slots"] == {"n_seq_max": 4, "kv_unified": False,
                                 "n_ctx_per_slot": 4096}
    unified = run_picker(*args, "--kv-unified", "on", "--json").json()
    assert unified["slots"]["n_ctx_per_slot"] == 16384 and unified["settings"]["kv_unified"]
    text = run_picker(*args, "--kv-unified", "on").stdout
    assert "4 slots sharing one 16384-token KV cache" in text
    line = run_picker(*args, "--kv-unified", "on", "--emit", "llama-server")
    assert line.returncode == 0, line.stderr
    flags = line.stdout.split()
    assert flags[flags.index("-np") + 1] == "4" and "--kv-unified" in flags
    assert "--cache-ram" in line.stderr  # the prompt cache named as host memory it adds
    for form in ("llama-cpp-python", "ollama", "lm-studio"):
        other = run_picker(*args, "--emit", form, "--json")
        assert any("4 parallel slots" in note for note in other.json()["emit"]["notes"]), form
    bad = run_picker("fit", str(gpt_oss), "--parallel", "0")
    assert bad.returncode == 2 and "--parallel" in bad.stderr


def test_sliding_window_checkpoints_are_named_without_swa_full(gpt_oss: Path) -> None:
    """llama-server checkpoints the window cache of an SWA model with swa_full off."""
    shape = shape_from_header(read_header(gpt_oss))
    machine = Machine(gpus=(), cpu_free_bytes=None)
    full = plan_memory(shape, LlamaSettings(n_ctx=8192, swa_full=True), machine)
    assert not [note for note in full.notes if "context checkpoints" in note]
    slots = 2
    windowed = plan_memory(shape, LlamaSettings(n_ctx=8192, swa_full=False, n_seq_max=slots), machine)
    (note,) = [note for note in windowed.notes if "context checkpoints" in note]
    layout = windowed.devices[0].kv_cache_bytes  # everything on the CPU
    swa_layers = sum(shape.is_swa(il) for il in range(shape.n_layer))
    per_cell = shape.kv_bytes_per_cell("f16", "f16", True)
    window_cells = 256 * -(-(shape.n_swa + 512) // 256)
    swa_bytes = sum(size for size, sliding in per_cell if sliding) * window_cells * slots
    assert 0 < swa_layers < shape.n_layer and swa_bytes < layout
    assert "sliding-window cache (swa_full off)" in note
    assert f"({format_size(swa_bytes // slots)} each at most)" in note
