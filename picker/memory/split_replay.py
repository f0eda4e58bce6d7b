"""Compute buffers per device when a graph runs on several backends: ggml's scheduler, replayed.

With experts on the CPU (--n-cpu-moe) a GPU runs some of its blocks whole and, in the
others, everything but the routed experts' matmuls: each such block is cut into three
splits (GPU, CPU, GPU). llama.cpp's scheduler (ggml_backend_sched_split_graph, in the
ggml-backend.cpp llama-cpp-python 0.3.36 vendors) then

- assigns each op to the backend of its weights (gate, up, down and, for gpt-oss, their
  biases to the CPU), the activation between them to the CPU, the rest to the GPU of its
  block; graph inputs (token ids, positions, KV indices, masks) live on the CPU;
- starts a new split wherever the backend changes, and for each tensor a split reads from
  another backend adds a copy on the split's backend, allocated at the split's start and
  kept (the same copy serves every later split there) until its last reader; the source is
  held until the copy is made;
- hands the whole sequence to one ggml-alloc with a buffer per backend: each tensor is
  placed, reused in place and freed in its own backend's arena, in the global order.

`split_compute_bytes` replays exactly that over the blocks `ggml_graph` builds, with one
`ggml_alloc.Arena` per device, and answers each device's high-water mark. Pipelined
(several GPUs, every layer offloaded, nothing overridden) the scheduler keeps
GGML_SCHED_MAX_COPIES (4) of every copy and graph input, placed before the graph and never
freed: the same walk with those gives each GPU's buffer (`pipeline.py`'s closed form is
left for the host and for what the replay cannot build). A GPU holding
blocks with and without their experts differs from any one-device replay (the experts'
result arrives as a copy, the FFN's input is held for its copy, the masks are copies made
at the device's first split); a closed form missed it by -36 % to +19 % with flash attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from picker.memory.compute_graph import _BUILDERS, block_layout, recall, remember
from picker.memory.ggml_alloc import (
    Arena,
    Node,
    Program,
    Recorder,
    allocate,
    execute,
    pad,
    run_across,
)
from picker.memory.ggml_graph import RECURRENT, GraphShape, LayerGraph
from picker.memory.ggml_graph_deltanet import DELTA_NET_ARCHITECTURES
from picker.memory.ggml_graph_moe import SHARED_EXPERT_ARCHITECTURES

if TYPE_CHECKING:
    from picker.memory.compute import AttentionCaches
    from picker.memory.shape import ModelShape

CPU_DEVICE = 0
_DEPENDENCY = Node(0, (), False, ())  # stands in as the source of the scheduler's dep nodes
_MEMO: dict[tuple[object, ...], tuple[int, ...]] = {}
_MEMO_LIMIT = 1024
# Builders with their own expert code, which does not mark the experts' ops (Llama 4), and
# Gemma 4, whose per-layer inputs are worked out beside the embeddings on a device this
# replay has not been checked on: the closed forms stay theirs.
_OWN_EXPERTS = frozenset({"llama4"})
_NOT_SPLIT = frozenset({"gemma4"})
_SHARED_EXPERTS = frozenset({*SHARED_EXPERT_ARCHITECTURES, *DELTA_NET_ARCHITECTURES})
_SETTLE_BLOCKS = 3  # blocks (times the pattern's period) a run keeps before any are dropped


def _is_view_op(node: Node) -> bool:
    """A reshape/view/permute (ggml_is_view_op), not an op writing into a view (set_rows)."""
    source = node.view_src
    return (source is not None and len(node.srcs) == 1
            and (node.srcs[0] is source or node.srcs[0].view_src is source))


def _build(graph: GraphShape, swa: tuple[int, ...], cells_by_kind: dict[int, int],
           block_device: Sequence[int], moved: int, output_device: int,
           ) -> tuple[list[Node], list[Node], dict[Node, int]]:
    """The graph's leaves, its nodes in execution order and each one's device."""
    layout = block_layout(swa)
    cells = tuple(cells_by_kind[kind] for kind in layout.order)
    builder = _BUILDERS.get(graph.architecture, LayerGraph)(graph)
    leaves, tokens, positions, out_ids, caches = builder.inputs(cells, layout.order)
    device: dict[Node, int] = dict.fromkeys(leaves, CPU_DEVICE)  # graph inputs: the host's
    order: list[Node] = []
    n_layer = len(swa)
    first = block_device[0] if n_layer else output_device
    shared_expert = graph.architecture in _SHARED_EXPERTS
    nodes: list[Node] = []
    residual = builder.embeddings(nodes, tokens)
    for index, node in enumerate(nodes):  # the rows are looked up where token_embd is
        device[node] = CPU_DEVICE if index == 0 else first
    order += nodes
    for il in range(n_layer):
        nodes = []
        kind = layout.kinds[il]
        builder.block = il
        builder.expert_span = None
        residual = builder.layer(nodes, residual, positions, caches[kind], cells[kind],
                                 out_ids if il == n_layer - 1 else None)
        span = builder.expert_span if il < moved else None  # None: a dense block, kept
        low, high = span or (0, 0)
        # after the experts, the scheduler's "expand gpu up" pass gives the rest of the
        # block (weighing, summing, the residual add) to the device of the next op with
        # weights: a shared expert's, on this block's device, else the next block's first
        # norm (llama.cpp pins it to that block's device); "expand down" stops at the CPU ops
        tail = (block_device[il] if shared_expert
                else block_device[il + 1] if il + 1 < n_layer else output_device)
        for index, node in enumerate(nodes):
            device[node] = (CPU_DEVICE if low <= index < high
                            else tail if span and index >= high else block_device[il])
        order += nodes
    nodes = []
    builder.output(nodes, residual)
    device.update(dict.fromkeys(nodes, output_device))
    order += nodes
    for node in order:  # a view lives where its source does
        if _is_view_op(node) and node.view_src in device:
            device[node] = device[node.view_src]
    return leaves, order, device


def _schedule(order: list[Node], device: dict[Node, int], copied: list[Node]) -> list[Node]:
    """ggml_backend_sched's graph copy: per split, a dependency on each input read from
    another backend and its copy, then the split's nodes (whose reads now go to the copies)."""
    sequence: list[Node] = []
    copies: dict[tuple[Node, int], Node] = {}
    current = -1
    prefix: list[Node] = []
    body: list[Node] = []
    for node in order:
        if _is_view_op(node):
            body.append(node)
            continue
        here = device[node]
        if here != current:
            sequence += prefix + body
            prefix, body, current = [], [], here
        sources = list(node.srcs)
        for index, source in enumerate(sources):
            if device.get(source, here) == here:
                continue
            copy = copies.get((source, here))
            if copy is None:
                root = source.view_src if _is_view_op(source) else None
                model = root if root is not None else source
                copy = Node(model.size, model.layout, False, (), cache=model.cache)
                copies[(source, here)] = copy
                copied.append(copy)
                device[copy] = here
                dependency = Node(0, (), False, (source,), view_src=_DEPENDENCY)
                device[dependency] = device[source]
                prefix += [dependency, copy]
            source.children -= 1
            copy.children += 1
            sources[index] = copy
        node.srcs = tuple(sources)
        body.append(node)
    return sequence + prefix + body


def shortened(swa: tuple[int, ...], block_device: tuple[int, ...], moved: int,
              ) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The same placement with long runs of alike blocks cut short. Within a run of blocks on
    one device, all with or all without their experts, the arenas settle into a cycle after
    a few blocks (compute_graph's replay skips the rest for the same reason): blocks are
    dropped from the middle of a run in whole multiples of twice the pattern's period, which
    keeps the pattern's phase and a two-block cycle's parity for what follows."""
    layout = block_layout(swa)
    period = layout.period
    special = set(layout.special)
    dropped: set[int] = set()
    start = 0
    n_layer = len(swa)
    while start < n_layer:
        end = start
        while (end + 1 < n_layer and end + 1 not in special and start not in special
               and block_device[end + 1] == block_device[start]
               and (end + 1 < moved) == (start < moved)):
            end += 1
        cut = (end - start - _SETTLE_BLOCKS * period) // (2 * period) * (2 * period)
        if cut > 0:
            first = start + _SETTLE_BLOCKS * period
            dropped.update(range(first, first + cut))
        start = end + 1
    if not dropped:
        return swa, block_device, moved
    kept = [il for il in range(n_layer) if il not in dropped]
    return (tuple(swa[il] for il in kept), tuple(block_device[il] for il in kept),
            sum(1 for il in kept if il < moved))


def split_compute_bytes(graph: GraphShape, swa: tuple[int, ...], base_cells: int,
                        swa_cells: int, block_device: tuple[int, ...], moved: int,
                        output_device: int, n_devices: int, n_copies: int = 1,
                        ) -> tuple[int, ...]:
    """Each device's compute buffer (device 0 is the CPU) for blocks placed on
    `block_device`, the first `moved` blocks' routed experts on the CPU (a block without
    routed experts has nothing to move). `n_copies` > 1: pipelined (every copy between
    backends and every graph input kept that many times over). Long runs of alike blocks
    are cut short (`shortened`); the allocator's decisions are recorded once per placement
    (`compile_split`) and replayed at each context's sizes; answers remembered."""
    if n_copies == 1 or not moved:  # (pipelined, each moved block's copies would be kept)
        swa, block_device, moved = shortened(swa, block_device, moved)
    key = (graph.key, swa, base_cells, swa_cells, block_device, moved, output_device,
           n_devices, n_copies)
    found = _MEMO.get(key)
    if found is None:
        cells = {0: base_cells, 1: swa_cells, RECURRENT: 0}
        n_kv = [cells[kind] for kind in block_layout(swa).order]
        highs = []
        for program, recorded, cache_sized in compile_split(graph, swa, block_device, moved,
                                                            output_device, n_devices, n_copies):
            sizes = list(recorded)
            for slot, cache, per_cell in cache_sized:
                sizes[slot] = pad(per_cell * n_kv[cache])
            arena = Arena()
            execute(arena, program, [0] * len(sizes), sizes)
            highs.append(arena.high)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        found = _MEMO[key] = tuple(highs)
    return found


@lru_cache(maxsize=256)
def compile_split(graph: GraphShape, swa: tuple[int, ...], block_device: tuple[int, ...],
                  moved: int, output_device: int, n_devices: int, n_copies: int,
                  ) -> tuple[tuple[Program, tuple[int, ...], tuple[tuple[int, int, int], ...]],
                             ...]:
    """Per device: the allocator's decisions (which depend on the graph's structure, not on
    sizes), each tensor's size at the recording's cache sizes, and which sizes scale with
    which cache's cells."""
    recorders = [Recorder() for _ in range(n_devices)]
    _walk(recorders, graph, swa, {0: 1024, 1: 1024, RECURRENT: 0}, block_device, moved,
          output_device, n_copies)
    return tuple((recorder.take(), tuple(recorder.sizes), tuple(recorder.cache_sized))
                 for recorder in recorders)


def reference_split_bytes(graph: GraphShape, swa: tuple[int, ...], base_cells: int,
                          swa_cells: int, block_device: tuple[int, ...], moved: int,
                          output_device: int, n_devices: int, n_copies: int = 1,
                          ) -> tuple[int, ...]:
    """`split_compute_bytes` with every block placed at these sizes, nothing dropped or
    recorded: the tests' reference."""
    arenas = [Arena() for _ in range(n_devices)]
    _walk(arenas, graph, swa, {0: base_cells, 1: swa_cells, RECURRENT: 0}, block_device,
          moved, output_device, n_copies)
    return tuple(arena.high for arena in arenas)


def _walk(arenas: Sequence[Arena], graph: GraphShape, swa: tuple[int, ...],
          cells_by_kind: dict[int, int], block_device: Sequence[int], moved: int,
          output_device: int, n_copies: int) -> None:
    """ggml-alloc's walk over the scheduler's graph, each tensor in its device's arena."""
    leaves, order, device = _build(graph, swa, cells_by_kind, block_device, moved,
                                   output_device)
    copied: list[Node] = []
    sequence = _schedule(order, device, copied)
    for leaf in leaves:
        allocate(arenas[CPU_DEVICE], leaf)
    if n_copies > 1:  # pipelined: every copy, n_copies times over, placed first and kept
        for node in [*leaves, *copied]:
            node.output = True
            arena = arenas[device[node]]
            allocate(arena, node)
            for _ in range(n_copies - 1):
                allocate(arena, Node(node.size, node.layout, False, (), cache=node.cache))
    run_across(lambda node: arenas[device[node]], sequence)


def device_compute_bytes(graph: GraphShape, swa: tuple[int, ...], base_cells: int,
                         swa_cells: int, block_device: tuple[int, ...], moved: int,
                         output_device: int, device: int, n_copies: int = 1) -> int:
    """One GPU's compute buffer, from the graph cut down to its blocks and their two
    neighbours (the rest on a stand-in device). Each backend has its own arena, which only
    its own tensors and the copies made into it touch, and those come from the neighbours
    (the residual stream, a moved block's weighing and sums run where the next block is)
    and the graph's inputs: so the answer is the full graph's, and a solver trying many
    splits meets the same few cut-down graphs again and again."""
    n_layer = len(swa)
    own = [il for il, here in enumerate(block_device) if here == device]
    low = max(own[0] - 1, 0) if own else n_layer - 1
    high = min(own[-1] + 2, n_layer) if own else n_layer
    kept = tuple(1 if block_device[il] == device else 2 for il in range(low, high))
    moved_here = min(max(moved - low, 0), high - low)
    output_here = 1 if output_device == device else 2
    key = ("split_replay", graph.key, swa[low:high], base_cells, swa_cells, kept, moved_here,
           output_here, n_copies)
    found = recall(key)  # (kept on disk with compute_graph's answers, for the next run)
    if found is None:
        found = split_compute_bytes(graph, swa[low:high], base_cells, swa_cells, kept,
                                    moved_here, output_here, 3, n_copies)[1]
        remember(key, found)
    return found


def gpu_split_compute_bytes(shape: ModelShape, caches: AttentionCaches, n_ubatch: int,
                              flash_attn: bool, type_k: str, type_v: str,
                              layer_device: Sequence[str], output_device: str,
                              names: Sequence[str], n_cpu_moe: int, n_copies: int = 1,
                              ) -> dict[str, int] | None:
    """Each GPU's compute buffer (by name; `names[0]` is the CPU, left out) with the first
    `n_cpu_moe` blocks' experts on the CPU (`n_copies` 4: pipelined), or None where the
    replay cannot build the model."""
    from picker.memory.compute_graph import graph_shape

    if shape.architecture in _NOT_SPLIT or (n_cpu_moe and shape.architecture in _OWN_EXPERTS):
        return None
    graph = graph_shape(shape, n_ubatch, flash_attn, type_k, type_v)
    if graph is None:
        return None
    swa: tuple[int, ...] = shape.__dict__["_graph_facts"].swa
    index = {name: position for position, name in enumerate(names)}
    blocks = tuple(index[device] for device in layer_device[:len(swa)])
    return {name: device_compute_bytes(graph, swa, caches.base_cells, caches.swa_cells, blocks,
                                       n_cpu_moe, index[output_device], index[name], n_copies)
            for name in names[1:] if index[name] in blocks or name == output_device}
