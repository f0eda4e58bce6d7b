"""Read llama.cpp's verbose load log into bytes per device per kind of buffer.

llama.cpp prints one line per buffer it allocates (model weights, KV cache,
recurrent state, compute graph, logits output). Those lines are the ground truth
the memory plan is measured against, and what the smoke test reports after a
real load. Sizes are printed in MiB with two decimals, so every figure read here
is exact only to within `MIB_RESOLUTION_BYTES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

MIB = 1024 * 1024
# "%8.2f MiB": half of the last printed digit either way.
MIB_RESOLUTION_BYTES = int(0.005 * MIB) + 1

BufferKind = Literal["model", "kv", "recurrent", "compute", "output"]

# `load_tensors:   CPU_REPACK model buffer size =    12.66 MiB`
# `llama_kv_cache:        CPU KV buffer size =     6.00 MiB`
# `llama_memory_recurrent:      CUDA0 RS buffer size =     0.25 MiB`
# `sched_reserve:  CUDA_Host compute buffer size =    10.01 MiB`
# `llama_context:        CPU  output buffer size =     1.00 MiB`
# Older llama.cpp (2024) printed weights as `llm_load_tensors:      CUDA0 buffer size = ...`.
_BUFFER_RE = re.compile(
    r"^(?P<source>[A-Za-z_]+):\s+(?P<device>\S+)\s+"
    r"(?:(?P<kind>model|KV|RS|compute|output)\s+)?buffer size\s*=\s*(?P<mib>[0-9.]+)\s*MiB"
)
_WEIGHT_SOURCES = ("load_tensors", "llm_load_tensors")
# `llama_kv_cache: size =    6.00 MiB (  2048 cells,  18 layers,  1/1 seqs), K (f16): ...`
_KV_SIZE_RE = re.compile(
    r"^llama_kv_cache:\s+size\s*=\s*(?P<mib>[0-9.]+)\s*MiB\s*\(\s*(?P<cells>\d+)\s+cells,\s*"
    r"(?P<layers>\d+)\s+layers,.*?K \((?P<type_k>\w+)\):\s*(?P<k_mib>[0-9.]+)\s*MiB"
    r"(?:,\s*V \((?P<type_v>\w+)\):\s*(?P<v_mib>[0-9.]+)\s*MiB)?"
)
# `llama_memory_recurrent: size =    0.12 MiB (     1 cells,   2 layers, ...), R (f32): ..., S (f32): ...`
# `llama_dsv4_comp_state: hca ratio = 128, state = 128 x 512, ..., size =   10.00 MiB` (DeepSeek
# V4's compressor state: fixed per sequence, counted as recurrent state)
_RS_SIZE_RE = re.compile(r"^(?:llama_memory_recurrent:\s+size|llama_dsv4_comp_state:\s+\w+ ratio = .*"
                         r"size)\s*=\s*(?P<mib>[0-9.]+)\s*MiB")
# `model has unused tensor blk.46.attn_q.weight (size = 28311552 bytes) -- ignoring`
_UNUSED_RE = re.compile(r"model has unused tensor \S+ \(size = (?P<bytes>\d+) bytes\)")
_OFFLOADED_RE = re.compile(r"offloaded (?P<n>\d+)/(?P<total>\d+) layers to GPU")
_KIND_NAMES: dict[str, BufferKind] = {
    "model": "model", "KV": "kv", "RS": "recurrent", "compute": "compute", "output": "output",
}


def mib_to_bytes(mib: float) -> int:
    return round(mib * MIB)


@dataclass(frozen=True)
class BufferLine:
    """One `... buffer size = X MiB` line."""

    source: str  # the llama.cpp function that printed it (load_tensors, sched_reserve, ...)
    device: str  # buffer type as llama.cpp names it: CPU, CPU_REPACK, CUDA0, CUDA_Host, Metal
    kind: BufferKind
    size_bytes: int


@dataclass(frozen=True)
class CacheSizeLine:
    """One `llama_kv_cache: size = ...` summary (printed even by a no-alloc dry run)."""

    size_bytes: int
    cells: int
    layers: int
    type_k: str
    k_bytes: int
    type_v: str | None
    v_bytes: int


@dataclass(frozen=True)
class LlamaLog:
    """Everything about memory that one llama.cpp load printed."""

    buffers: tuple[BufferLine, ...] = ()
    kv_caches: tuple[CacheSizeLine, ...] = ()
    recurrent_bytes: int = 0
    unused_tensor_bytes: int = 0  # tensors in the file llama.cpp skipped (MTP blocks, ...)
    offloaded_layers: int | None = None
    offloadable_layers: int | None = None
    errors: tuple[str, ...] = field(default=())

    def bytes_of(self, kind: BufferKind, device: str | None = None) -> int:
        """Sum of one kind of buffer, on one buffer type (exact name) or on all."""
        return sum(
            line.size_bytes for line in self.buffers
            if line.kind == kind and (device is None or line.device == device)
        )

    def by_device(self, kind: BufferKind) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.buffers:
            if line.kind == kind:
                totals[line.device] = totals.get(line.device, 0) + line.size_bytes
        return totals

    @property
    def kv_cache_bytes(self) -> int:
        """KV cache size from the `size =` summaries, which a dry run prints too."""
        return sum(cache.size_bytes for cache in self.kv_caches)

    @property
    def devices(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.buffers:
            seen.setdefault(line.device, None)
        return tuple(seen)


def parse_llama_log(lines: Iterable[str] | str) -> LlamaLog:
    """Pick the memory lines out of a llama.cpp log; everything else is ignored."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    buffers: list[BufferLine] = []
    caches: list[CacheSizeLine] = []
    errors: list[str] = []
    recurrent_bytes = unused_bytes = 0
    offloaded: int | None = None
    offloadable: int | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        match = _BUFFER_RE.match(line)
        if match and (match["kind"] or match["source"] in _WEIGHT_SOURCES):
            buffers.append(BufferLine(
                source=match["source"], device=match["device"],
                kind=_KIND_NAMES[match["kind"] or "model"],
                size_bytes=mib_to_bytes(float(match["mib"])),
            ))
        elif match := _KV_SIZE_RE.match(line):
            caches.append(CacheSizeLine(
                size_bytes=mib_to_bytes(float(match["mib"])), cells=int(match["cells"]),
                layers=int(match["layers"]), type_k=match["type_k"],
                k_bytes=mib_to_bytes(float(match["k_mib"])), type_v=match["type_v"],
                v_bytes=mib_to_bytes(float(match["v_mib"] or 0.0)),
            ))
        elif match := _RS_SIZE_RE.match(line):
            recurrent_bytes += mib_to_bytes(float(match["mib"]))
        elif match := _UNUSED_RE.search(line):
            unused_bytes += int(match["bytes"])
        elif match := _OFFLOADED_RE.search(line):
            offloaded, offloadable = int(match["n"]), int(match["total"])
        elif "error" in line.lower() or "failed" in line.lower():
            errors.append(line)
    return LlamaLog(
        buffers=tuple(buffers), kv_caches=tuple(caches), recurrent_bytes=recurrent_bytes,
        unused_tensor_bytes=unused_bytes,
        offloaded_layers=offloaded, offloadable_layers=offloadable, errors=tuple(errors),
    )
