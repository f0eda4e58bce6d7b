"""The shipped Laguna XS.2 row, planned from its catalog facts, against llama.cpp's dry run.

The catalog states one query-head count (48, the config's) though llama.cpp builds the
sliding blocks with 64: the KV cache (8 KV heads on every block) must still be exact, and
the closed-form compute buffer inside the range the plan states for laguna.
"""

from __future__ import annotations

from pathlib import Path

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.hooks import shape_from_catalog
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from tests.dry_run_checks import inside_stated_range


def test_laguna_row_plans_the_kv_cache_exactly_and_states_its_compute_range(
        tmp_path: Path) -> None:
    catalog = load_catalog_from(shipped_data_dir())
    model = next(m for m in catalog.models if m.id == "laguna-xs.2")
    quant = next(q for q in model.quantizations if q.type == "Q4_K_M")
    facts = shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length)
    path = write_arch_model(ARCH_SHAPES["laguna-xs.2"], tmp_path / "laguna-xs.2.gguf")
    contexts = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, swa_full=False),
                LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"))
    for probe in run_probe(ProbeRequest(str(path), contexts=contexts)):
        assert probe.ok, probe.error
        plan = plan_memory(facts, probe.settings, Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["kv_cache"].within_rounding, (probe.settings, rows["kv_cache"])
        note = next(note for note in plan.notes if "compute buffer estimated" in note)
        error = rows["compute"].error_percent
        assert inside_stated_range(note, error), (error, note)
