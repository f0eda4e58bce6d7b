"""What the 2026 architecture tests share: a long-context grid for llama-cpp-python's
no-alloc dry run, the check of a plan against it (caches exact to llama.cpp's MiB rounding,
the compute buffer inside the range its closed form states) and a shipped row's shape from
its catalog facts, to hold against the header's."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.hooks import shape_from_catalog
from picker.catalog.types import Model, Quantization
from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import ModelShape, shape_from_header

RANGE_RE = re.compile(r"(?P<low>[+-]\d+)% to (?P<high>[+-]\d+)%")
# 8k-256k, flash attention off and on, an f16 and a q8_0 cache, n_ubatch 256-2048, two sequences
LONG_GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True),
             LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"),
             LlamaSettings(n_ctx=131072, flash_attn=True, n_ubatch=2048, n_batch=2048),
             LlamaSettings(n_ctx=65536, n_ubatch=256, n_batch=256),
             LlamaSettings(n_ctx=262144, flash_attn=True, n_seq_max=2))


def inside_stated_range(note: str, error_percent: float) -> bool:
    """Whether a compute buffer `error_percent` off llama.cpp's lies inside the range the
    plan's `note` states ("... -3% to +6% ..."), to its whole-percent rounding."""
    bounds = RANGE_RE.search(note)
    assert bounds is not None, note
    return int(bounds["low"]) - 0.5 <= error_percent <= int(bounds["high"]) + 0.5


def dry_run_failures(path: Path, stated_range: str, *, weights_to_the_byte: bool) -> list[str]:
    """Every way the plan of the GGUF at `path` misses llama.cpp's dry run over LONG_GRID:
    weights (to the byte, or to the log's rounding), KV cache, recurrent state and output to
    the rounding, and a compute buffer outside the closed form's range, which the plan must
    state as `stated_range` (e.g. "measured -3% to +6%")."""
    header = read_header(path)
    shape = shape_from_header(header)
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    failures = []
    for probe in run_probe(ProbeRequest(str(path), contexts=LONG_GRID)):
        assert probe.ok, probe.error
        s = probe.settings
        plan = plan_memory(shape, LlamaSettings(
            n_ctx=s.n_ctx, n_batch=s.n_batch, n_ubatch=s.n_ubatch, flash_attn=s.flash_attn,
            type_k=s.type_k, type_v=s.type_v, n_seq_max=s.n_seq_max), Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True,
                                                 tensor_bytes=tensor_bytes)}
        for kind in ("weights", "kv_cache", "recurrent", "output"):
            if not rows[kind].within_rounding:
                failures.append(f"{s}: {kind} {rows[kind]}")
        if weights_to_the_byte and rows["weights"].plan_bytes != rows["weights"].llama_bytes:
            failures.append(f"{s}: weights {rows['weights']}")
        (note,) = [note for note in plan.notes if "compute buffer estimated" in note]
        assert stated_range in note, note
        if not inside_stated_range(note, rows["compute"].error_percent):
            failures.append(f"{s}: compute {rows['compute']}")
    return failures


def shipped_row_shape(model_id: str, weights_bytes: int) -> tuple[Model, ModelShape]:
    """The shipped catalog's row and the shape planned from its facts alone (no header), its
    quantization sized as the header's weights so that only the layout can differ."""
    (model,) = [m for m in load_catalog_from(shipped_data_dir()).models if m.id == model_id]
    quant = cast(Quantization, SimpleNamespace(size_bytes=weights_bytes))
    return model, shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length)


def same_caches(from_header: ModelShape, from_facts: ModelShape) -> None:
    """The KV cache and a non-empty recurrent state alike from the header and from the facts,
    over LONG_GRID."""
    for settings in LONG_GRID:
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (from_header, from_facts)]
        assert plans[0].total("kv_cache_bytes") == plans[1].total("kv_cache_bytes"), settings
        assert plans[0].recurrent_bytes == plans[1].recurrent_bytes > 0, settings
