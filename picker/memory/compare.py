"""Set a plan beside llama.cpp's own figures, kind by kind.

Used by `picker fit --exact`, the accuracy tests and benchmarks/bench_memory.py.
llama.cpp prints MiB with two decimals, so a figure it logs is exact only to
`MIB_RESOLUTION_BYTES` per line; `within_rounding` allows for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from picker.memory.llama_log import MIB_RESOLUTION_BYTES, LlamaLog
from picker.memory.plan import MemoryPlan

# CPU_REPACK holds re-laid-out copies of tensors that stay counted in the mapped
# model buffer, so it is not added to the weights a second time.
_DUPLICATE_MODEL_BUFFERS = ("CPU_REPACK",)


@dataclass(frozen=True)
class Comparison:
    kind: str  # weights, kv_cache, compute, output, total
    llama_bytes: int
    plan_bytes: int
    lines: int  # how many rounded log lines made llama_bytes

    @property
    def error_bytes(self) -> int:
        return self.plan_bytes - self.llama_bytes

    @property
    def error_percent(self) -> float:
        if self.llama_bytes == 0:
            return 0.0 if self.plan_bytes == 0 else 100.0
        return 100.0 * self.error_bytes / self.llama_bytes

    @property
    def within_rounding(self) -> bool:
        return abs(self.error_bytes) <= max(1, self.lines) * MIB_RESOLUTION_BYTES

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "llama_cpp_bytes": self.llama_bytes, "plan_bytes": self.plan_bytes,
            "error_percent": round(self.error_percent, 3),
        }


def logged_weights_bytes(log: LlamaLog) -> tuple[int, int]:
    """Model buffers as logged (bytes, number of lines), without duplicate repack copies."""
    lines = [
        line for line in log.buffers
        if line.kind == "model" and line.device not in _DUPLICATE_MODEL_BUFFERS
    ]
    return sum(line.size_bytes for line in lines), len(lines)


def compare(plan: MemoryPlan, log: LlamaLog, dry_run: bool,
            tensor_bytes: int | None = None) -> list[Comparison]:
    """Plan vs. log for weights, KV cache, recurrent state (when there is one), compute,
    output and total. A dry run logs no weights: given the file's `tensor_bytes` (all its
    tensor infos), its weights are those less the tensors llama.cpp said it skipped."""
    rows = []
    weights_plan = plan.total("weights_bytes")
    if not dry_run:
        weights_llama, weight_lines = logged_weights_bytes(log)
        rows.append(Comparison("weights", weights_llama, weights_plan, weight_lines))
    elif tensor_bytes is not None:
        weights_llama, weight_lines = tensor_bytes - log.unused_tensor_bytes, 0
        rows.append(Comparison("weights", weights_llama, weights_plan, 0))
    else:
        weights_llama, weight_lines = weights_plan, 0
    kv_llama = log.kv_cache_bytes + log.recurrent_bytes
    kv_lines = len(log.kv_caches) + (1 if log.recurrent_bytes else 0)
    rows.append(Comparison("kv_cache", log.kv_cache_bytes,
                           plan.total("kv_cache_bytes") - plan.recurrent_bytes,
                           len(log.kv_caches)))
    if log.recurrent_bytes or plan.recurrent_bytes:
        rows.append(Comparison("recurrent", log.recurrent_bytes, plan.recurrent_bytes, 1))
    compute_lines = sum(1 for line in log.buffers if line.kind == "compute")
    rows.append(Comparison("compute", log.bytes_of("compute"), plan.total("compute_bytes"),
                           compute_lines))
    output_lines = sum(1 for line in log.buffers if line.kind == "output")
    rows.append(Comparison("output", log.bytes_of("output"), plan.total("output_bytes"),
                           output_lines))
    llama_total = weights_llama + kv_llama + log.bytes_of("compute") + log.bytes_of("output")
    plan_total = sum(device.buffers_bytes for device in plan.devices)
    rows.append(Comparison("total", llama_total, plan_total,
                           weight_lines + kv_lines + compute_lines + output_lines))
    return rows
