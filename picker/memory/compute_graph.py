"""The compute buffer from a replay of ggml's allocator over llama.cpp's graph.

`graph_compute_bytes` builds the worst-case graph (`ggml_graph.LayerGraph`) one
block at a time and places it with `ggml_alloc` exactly as ggml-alloc would; the
buffer is the arena's high-water mark. Blocks repeat, and so does the allocator:
once the free blocks and the residual stream's address after a block equal those
after an earlier block of the same kind, every block until the next different one
(the last to use an input, the last block) would replay the same placements, so
they are skipped. A plan then costs a handful of blocks, whatever the depth, and
each answer is remembered (the solver and the ranking ask the same questions).

Returns None for what the replay does not model (other architectures, per-layer
head counts or widths, MLA, recurrent layers); `compute.py` then falls back to its
closed form.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Arena, Node, run
from picker.memory.ggml_graph import SUPPORTED, GraphShape, LayerGraph
from picker.memory.shape import ModelShape

_FAR = 1 << 40  # consumers still to come in blocks not built yet
_MEMO: dict[tuple[object, ...], int] = {}
_MEMO_LIMIT = 4096


def graph_shape(shape: ModelShape, n_ubatch: int, flash_attn: bool, type_k: str,
                type_v: str) -> GraphShape | None:
    """The replay's view of `shape`, or None when the model is not one it can build."""
    from picker.memory.settings import QUANTIZED_CACHE_TYPES

    if shape.architecture not in SUPPORTED or shape.is_mla or any(shape.recurrent_layers):
        return None
    if shape.n_expert and shape.architecture != "llama":
        return None
    layers = shape.attention_layers
    if len(layers) != shape.n_layer or len({layer[1:4] for layer in layers}) != 1:
        return None
    if len(set(shape.n_head)) != 1 or len(set(shape.n_ff)) != 1:
        return None
    _, n_head_kv, key_length, value_length, _ = layers[0]
    rotate_k = rotate_v = 0
    if type_k in QUANTIZED_CACHE_TYPES and key_length % 64 == 0:
        rotate_k = key_length & -key_length  # the largest power of two dividing it
    if type_v in QUANTIZED_CACHE_TYPES and value_length % 64 == 0:
        rotate_v = 64
    return GraphShape(
        architecture=shape.architecture, n_embd=shape.n_embd, n_vocab=shape.n_vocab,
        n_ubatch=n_ubatch, n_head=shape.n_head[0], n_head_kv=n_head_kv,
        key_length=key_length, value_length=value_length, n_ff=shape.n_ff[0],
        n_expert=shape.n_expert, n_expert_used=shape.n_expert_used, flash_attn=flash_attn,
        rotate_k=rotate_k, rotate_v=rotate_v,
    )


def graph_compute_bytes(shape: ModelShape, base_cells: int, swa_cells: int, n_ubatch: int,
                        flash_attn: bool, type_k: str, type_v: str) -> int | None:
    """llama.cpp's compute buffer for the whole model on one device, or None (not modelled)."""
    graph = graph_shape(shape, n_ubatch, flash_attn, type_k, type_v)
    if graph is None:
        return None
    swa = shape.swa_layers or (False,) * shape.n_layer
    key = (graph, base_cells, swa_cells, swa)
    found = _MEMO.get(key)
    if found is None:
        found = replay(graph, swa, base_cells, swa_cells)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = found
    return found


def _period(kinds: tuple[int, ...]) -> int:
    for period in range(1, len(kinds) + 1):
        if all(kinds[i] == kinds[i - period] for i in range(period, len(kinds))):
            return period
    return len(kinds)


def replay(graph: GraphShape, swa: tuple[bool, ...], base_cells: int, swa_cells: int,
           skip_repeats: bool = True) -> int:
    """The arena's high-water mark for `graph` with these sliding-window layers and cache
    sizes; `skip_repeats=False` places every block (the tests' reference)."""
    n_layer = len(swa)
    # the caches in the order the first block meets them (llama.cpp's input order)
    cells = {False: base_cells, True: swa_cells}
    order = [swa[0]] + [kind for kind in (False, True) if kind != swa[0] and kind in swa]
    kinds = tuple(order.index(kind) for kind in swa)
    builder = LayerGraph(graph)
    leaves, tokens, positions, out_ids, caches = builder.inputs(
        tuple(cells[kind] for kind in order))
    arena = Arena()
    run(arena, leaves)
    # Inputs every block reads stay alive until the last block that reads them.
    last_use = {index: max(il for il, kind in enumerate(kinds) if kind == index)
                for index in range(len(caches))}
    shared: dict[int, list[Node]] = {}
    for index, cache in enumerate(caches):
        for node in cache:
            if node is not None:
                node.children += _FAR
                shared.setdefault(last_use[index], []).append(node)
    positions.children += _FAR
    shared.setdefault(n_layer - 1, []).append(positions)
    special = sorted({0, n_layer - 1, *last_use.values()})
    period = _period(kinds)
    seen: dict[tuple[object, ...], int] = {}
    nodes: list[Node] = []
    residual = builder.embeddings(nodes, tokens)
    il = 0
    while il < n_layer:
        for node in shared.get(il, ()):
            node.children -= _FAR
        kind = kinds[il]
        nodes = [] if il else nodes
        residual = builder.layer(nodes, residual, positions, caches[kind],
                                 cells[order[kind]], out_ids if il == n_layer - 1 else None)
        run(arena, nodes)
        following = next((s for s in special if s > il), n_layer)
        if skip_repeats and il and il + 1 < following:
            state = (il % period, residual.addr, arena.state())
            earlier = seen.get(state)
            if earlier is None:
                seen[state] = il
            else:  # the blocks up to `following` would repeat what already happened
                cycle = il - earlier
                il += (following - 1 - il) // cycle * cycle
        il += 1
    nodes = []
    builder.output(nodes, residual)
    run(arena, nodes)
    return arena.high
