"""A fit result as the JSON document `picker fit --json` prints, and as text for people."""

from __future__ import annotations

from typing import Any

from picker.memory.compare import Comparison
from picker.memory.plan import MemoryPlan
from picker.memory.solver import FitResult
from picker.units import format_size

_KINDS = (("weights_bytes", "weights"), ("kv_cache_bytes", "KV cache"),
          ("compute_bytes", "compute"), ("output_bytes", "output"),
          ("overhead_bytes", "margin"), ("total_bytes", "total"))



def _size(value: object) -> int | None:
    """A byte count from a device's document (None where it has none)."""
    return value if isinstance(value, int) else None

def fit_document(result: FitResult, target: str) -> dict[str, object]:
    plan = result.plan
    shape = plan.shape
    settings = plan.settings.to_dict()
    settings["n_gpu_layers_requested"] = "auto" if result.n_gpu_layers_auto else plan.settings.n_gpu_layers
    settings["effective"] = {
        "n_ctx": plan.effective.n_ctx, "n_batch": plan.effective.n_batch,
        "n_ubatch": plan.effective.n_ubatch,
    }
    document: dict[str, Any] = {
        "target": target,
        "model": {
            "architecture": shape.architecture, "n_layer": shape.n_layer,
            "n_ctx_train": shape.n_ctx_train, "n_vocab": shape.n_vocab,
            "weights_bytes": shape.weights_bytes, "file_size_bytes": shape.file_size_bytes,
            "estimated": shape.estimated,
        },
        "settings": settings,
        "memory": plan.memory_dict(),
        "placement": plan.placement,
        "n_gpu_layers": plan.gpu_layers,
        "max_context": result.max_context,
        "shortfall_bytes": plan.shortfall_bytes,
        "notes": list(plan.notes),
        "slots": slots_document(plan),
    }
    return document


def slots_document(plan: MemoryPlan) -> dict[str, object]:
    """Parallel sequences and the context each may use (all of it with a unified cache)."""
    slots = plan.settings.n_seq_max
    per_slot = plan.effective.n_ctx if plan.settings.kv_unified else plan.effective.n_ctx // slots
    return {"n_seq_max": slots, "kv_unified": plan.settings.kv_unified, "n_ctx_per_slot": per_slot}


def slots_text(plan: MemoryPlan) -> str | None:
    slots = slots_document(plan)
    if slots["n_seq_max"] == 1:
        return None
    if slots["kv_unified"]:
        return (f"slots: {slots['n_seq_max']} slots sharing one {plan.effective.n_ctx}-token "
                "KV cache (--kv-unified: each may use all of it, together no more)")
    return (f"slots: {slots['n_seq_max']} slots of {slots['n_ctx_per_slot']} tokens each "
            f"({plan.effective.n_ctx} in all; --kv-unified on lets one slot use all of it)")


def comparison_document(rows: list[Comparison]) -> dict[str, object]:
    return {"source": "llama.cpp no-alloc dry run", "rows": [row.to_dict() for row in rows]}


def fit_text(result: FitResult, target: str) -> str:
    plan = result.plan
    shape = plan.shape
    lines = [
        f"{target}: {shape.architecture}, {shape.n_layer} layers, "
        f"trained context {shape.n_ctx_train}",
        f"settings: n_ctx {plan.effective.n_ctx}, n_batch {plan.effective.n_batch}, "
        f"n_ubatch {plan.effective.n_ubatch}, "
        f"flash attention {'on' if plan.settings.flash_attn else 'off'}, "
        f"KV cache {plan.settings.type_k}/{plan.settings.type_v}, "
        f"swa_full {'on' if plan.settings.swa_full else 'off'}, "
        f"n_gpu_layers {plan.gpu_layers}{' (auto)' if result.n_gpu_layers_auto else ''}"
        + (f", n_cpu_moe {plan.settings.n_cpu_moe}" if plan.settings.n_cpu_moe else ""),
        "",
        f"{'device':<8}" + "".join(f"{label:>12}" for _, label in _KINDS) + f"{'free':>12}",
    ]
    for device in plan.devices:
        row = device.to_dict()
        free = format_size(device.free_bytes) if device.free_bytes is not None else "unknown"
        lines.append(f"{device.device:<8}" + "".join(f"{format_size(_size(row[key])):>12}"
                                                     for key, _ in _KINDS) + f"{free:>12}")
    lines.append("")
    slots = slots_text(plan)
    if slots:
        lines.append(slots)
    verdict = {
        "gpu": "fits entirely on the GPU", "partial": "fits with part of the model on the GPU",
        "cpu": "fits on the CPU (system RAM)",
        "does-not-fit": f"does not fit: {format_size(plan.shortfall_bytes)} short",
    }[plan.placement]
    if plan.placement == "gpu" and plan.settings.n_cpu_moe:  # not "entirely": experts in RAM
        verdict = (f"every layer on the GPU, the MoE experts of {plan.settings.n_cpu_moe} layers "
                   "in host memory")
    lines.append(f"placement: {plan.placement} ({verdict})")
    lines.append(f"max context with this placement: {result.max_context} tokens")
    margins = sorted({d.overhead_source for d in plan.devices if d.overhead_bytes})
    if margins:
        lines.append("margin: " + "; ".join(margins))
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)


def comparison_text(rows: list[Comparison]) -> str:
    lines = ["", "llama.cpp dry run vs. this plan:",
             f"{'kind':<10}{'llama.cpp':>14}{'plan':>14}{'error':>10}"]
    for row in rows:
        lines.append(f"{row.kind:<10}{format_size(row.llama_bytes):>14}"
                     f"{format_size(row.plan_bytes):>14}{row.error_percent:>9.2f}%")
    return "\n".join(lines)
