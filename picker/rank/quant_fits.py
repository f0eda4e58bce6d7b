"""Every published quantization of one model, planned on this machine.

The ranking plans only a few quants per model to stay fast; the detail view (TUI)
and `picker fit MODEL_ID --all-quants` want all of them, with placement and the
largest context each can hold here.
"""

from __future__ import annotations

from typing import Any

from picker.catalog.types import Model
from picker.hardware.model import HardwareSnapshot


def quant_fits(model: Model, snapshot: HardwareSnapshot, context: int) -> list[dict[str, Any]]:
    """One row per quantization (largest first): size, placement, GPU layers, max context."""
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.settings import Settings
    from picker.memory.solver import fit
    from picker.rank.candidates import shape_for

    machine = machine_from_snapshot(snapshot)
    rows = []
    for quant in sorted(model.quantizations, key=lambda q: q.size_bytes, reverse=True):
        if quant.size_bytes <= 0:
            continue
        result = fit(shape_for(model, quant), Settings(n_ctx=context, n_gpu_layers=None), machine)
        plan = result.plan
        rows.append({
            "quant": quant.type,
            "download_bytes": quant.size_bytes,
            "download_size_estimated": quant.size_estimated,
            "placement": plan.placement if plan.fits else "does-not-fit",
            "n_gpu_layers": plan.settings.n_gpu_layers,
            "total_bytes": plan.total_bytes,
            "max_context": result.max_context,
        })
    return rows
