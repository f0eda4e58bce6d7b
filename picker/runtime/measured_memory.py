"""llama.cpp's logged buffers beside the memory plan, per device, with the error in %.

The buffer lines are read by picker.memory.llama_log and the kind-by-kind
comparison is picker.memory.compare's; this module adds the per-device view a
smoke test reports (llama.cpp names buffer types, the plan names devices).
"""

from __future__ import annotations

import re
from typing import Any

from picker.memory.compare import compare
from picker.memory.llama_log import LlamaLog
from picker.memory.placement import CPU, gpu_name
from picker.memory.plan import MemoryPlan

# CUDA0, ROCm0, Vulkan1, SYCL0, MTL0, Metal: buffers on a GPU. CPU, CPU_Mapped,
# CPU_REPACK and CUDA_Host (pinned host memory) live in RAM.
_GPU_BUFFER_RE = re.compile(r"^(?:CUDA|ROCm|HIP|Vulkan|SYCL|MTL|Metal|CANN|OpenCL)(?P<index>\d*)$")
# Re-laid-out copies of weights that the mapped model buffer already counts (see compare.py).
_DUPLICATE_MODEL_BUFFERS = ("CPU_REPACK",)


def plan_device(buffer_type: str) -> str:
    """The plan's device name (CPU, GPU0, ...) for one of llama.cpp's buffer types."""
    match = _GPU_BUFFER_RE.match(buffer_type)
    if match is None:
        return CPU
    return gpu_name(int(match["index"] or 0))


def error_pct(estimated_bytes: int | None, measured_bytes: int | None) -> float | None:
    """(estimate - measurement) / measurement, in %: positive means the plan was generous."""
    if estimated_bytes is None or not measured_bytes:
        return None
    return round(100.0 * (estimated_bytes - measured_bytes) / measured_bytes, 2)


def _measured_by_device(log: LlamaLog) -> tuple[dict[str, int], dict[str, list[dict[str, object]]]]:
    totals: dict[str, int] = {}
    buffers: dict[str, list[dict[str, Any]]] = {}
    for line in log.buffers:
        device = plan_device(line.device)
        counted = not (line.kind == "model" and line.device in _DUPLICATE_MODEL_BUFFERS)
        if counted:
            totals[device] = totals.get(device, 0) + line.size_bytes
        buffers.setdefault(device, []).append({
            "buffer_type": line.device, "kind": line.kind, "size_bytes": line.size_bytes,
            "counted": counted,
        })
    return totals, buffers


def memory_section(plan: MemoryPlan | None, log: LlamaLog | None) -> dict[str, object]:
    """The smoke test's `memory` object: estimate, measurement, error, and per device.

    `log` is None when the model did not load: then nothing was measured (null, not 0).
    """
    if log is None:
        planned_devices = plan.devices if plan else ()
        return {
            "source": "picker's memory plan (llama.cpp did not load the model)",
            "estimated_bytes": sum(device.buffers_bytes for device in planned_devices)
            if plan else None,
            "measured_bytes": None,
            "error_pct": None,
            "devices": [
                {"device": device.device, "estimated_bytes": device.buffers_bytes,
                 "measured_bytes": None, "error_pct": None, "buffers": []}
                for device in planned_devices
            ],
        }
    measured, buffers = _measured_by_device(log)
    planned = {device.device: device.buffers_bytes for device in plan.devices} if plan else {}
    names = list(planned) + [name for name in measured if name not in planned]
    devices = [
        {
            "device": name,
            "estimated_bytes": planned.get(name) if plan else None,
            "measured_bytes": measured.get(name, 0),
            "error_pct": error_pct(planned.get(name) if plan else None, measured.get(name, 0)),
            "buffers": buffers.get(name, []),
        }
        for name in names
    ]
    measured_total = sum(measured.values())
    estimated_total = sum(planned.values()) if plan else None
    section: dict[str, Any] = {
        "source": "llama.cpp buffer lines of this load vs picker's memory plan",
        "estimated_bytes": estimated_total,
        "measured_bytes": measured_total,
        "error_pct": error_pct(estimated_total, measured_total),
        "devices": devices,
    }
    if plan is not None:
        section["kinds"] = [row.to_dict() for row in compare(plan, log, dry_run=False)]
    return section
