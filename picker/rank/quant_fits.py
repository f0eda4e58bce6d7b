"""Every published quantization of one model, planned on this machine.

The ranking plans only a few quants per model to stay fast; the detail view (TUI)
and `picker fit MODEL_ID --all-quants` want all of them, with placement and the
largest context each can hold here.
"""

from __future__ import annotations

from picker.catalog.types import Model
from picker.hardware.model import HardwareSnapshot


def quant_fits(model: Model, snapshot: HardwareSnapshot, context: int) -> list[dict[str, object]]:
    """One row per quantization (largest first): size, placement, GPU layers, max context, and
    the estimated tokens/s (the ranking's estimate; the speed floor leaves some quants out)."""
    from picker.llama_settings import LlamaSettings
    from picker.memory.machine import machine_from_snapshot
    from picker.memory.solver import fit
    from picker.rank.candidates import Candidate, device_loads, plan_device_ids, shape_for
    from picker.speed.cpu_bandwidth import cpu_bandwidth
    from picker.speed.estimate import estimate_speed, machine_bandwidths

    machine = machine_from_snapshot(snapshot)
    bandwidths = machine_bandwidths(snapshot, cpu_bandwidth())
    device_ids = plan_device_ids(snapshot)
    active = model.active_parameters / model.parameters if model.parameters else 1.0
    rows: list[dict[str, object]] = []
    for quant in sorted(model.quantizations, key=lambda q: q.size_bytes, reverse=True):
        if quant.size_bytes <= 0:
            continue
        shape = shape_for(model, quant)
        result = fit(shape, LlamaSettings(n_ctx=context, n_gpu_layers=None), machine)
        plan = result.plan
        speed = None if not plan.fits else estimate_speed(
            device_loads(Candidate(quant, shape, plan, context), active, device_ids), bandwidths,
            model.active_parameters, context, quant.type, model.parameters).tokens_per_second
        rows.append({
            "tokens_per_second": None if speed is None else round(speed, 1),
            "quant": quant.type,
            "download_bytes": quant.size_bytes,
            "download_size_estimated": quant.size_estimated,
            "placement": plan.placement if plan.fits else "does-not-fit",
            "n_gpu_layers": plan.settings.n_gpu_layers,
            "total_bytes": plan.total_bytes,
            "max_context": result.max_context,
        })
    return rows
