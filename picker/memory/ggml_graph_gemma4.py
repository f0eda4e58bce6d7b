"""The graph of Gemma 4 (dense E2B / E4B / 31B and the 26B-A4B mixture of experts), for the
replay.

Beside Gemma 3's blocks (post-norms, Q/K norms, scaled embeddings, sliding-window and
full-attention caches) Gemma 4 has:

- per-kind head sizes: full-attention blocks have wider heads (and their own count of
  KV heads) than sliding ones, so each cache has its own Hadamard rotation size; a
  transposed V (flash attention off) is padded to the widest block's row;
- V normalised without a weight, no rope on it;
- KV sharing: the last `shared_kv_layers` blocks store nothing and attend to the cache
  of an earlier block of their kind (their Q only);
- per-layer embeddings (E2B / E4B): a second token lookup at the input, projected from
  the scaled embeddings inside the first block (where ggml first needs it), then one
  slice per block gates a small projection added to the residual stream;
- the 26B-A4B block runs a dense GELU feed-forward and the routed experts side by side
  (the router on its own norm of the block's input), each with its own post-norm;
- logits soft-capping (in place) after the output rows are picked from the final norm.

Read off src/models/gemma4.cpp of the llama.cpp that llama-cpp-python 0.3.36 vendors
(GGML_SCHED_DEBUG=2 lists the graph it reserves); checked against its compute buffer by
tests/test_memory_archs.py.
"""

from __future__ import annotations

from functools import partial

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    F32,
    I32,
    I64,
    GraphShape,
    Inputs,
    LayerGraph,
    StateInputs,
    _node,
    _view,
    add_leaf,
    sum_experts,
)

_ALIVE = 1 << 40  # consumers of the per-layer inputs in blocks not built yet


def gemma4_extra(keys: tuple[int, int], kv_heads: tuple[int, int], n_embd_per_layer: int,
                 n_layer: int, dense_ff: tuple[int, int], kv_from: int,
                 last_store: tuple[int, int], expert_scale: bool) -> tuple[int, ...]:
    """`GraphShape.extra`: head size and KV heads of (full, sliding) blocks, the per-layer
    embedding width (0: none) and the block count, the dense FFN width of the blocks with
    a cache and of those sharing one, the first block that shares another's KV, the last
    block storing into each cache (full, sliding; -1: none) and whether each expert's
    output is scaled."""
    return (*keys, *kv_heads, n_embd_per_layer, n_layer, *dense_ff, kv_from, *last_store,
            int(expert_scale))


class Gemma4Graph(LayerGraph):
    """Blocks of gemma4 (`GraphShape.extra` from `gemma4_extra`)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        (key_full, key_swa, kv_full, kv_swa, self.per_layer, self.n_layer, dense_ff,
         shared_ff, self.kv_from, store_full, store_swa, self.expert_scale) = shape.extra
        self.ff_of = (dense_ff, shared_ff)  # blocks with a cache, blocks sharing one
        self.key_of = (key_full, key_swa)
        self.kv_heads_of = (kv_full, kv_swa)
        self.last_store = (store_full, store_swa)
        self.cache_kind: tuple[int, ...] = ()  # per cache: 0 full, 1 sliding
        self.idxs: list[tuple[Node, Node]] = []  # per cache: the rows' indices
        self.out_ids: Node | None = None
        self.ple_tokens: Node | None = None
        self.ple_selected: Node | None = None  # the looked-up per-layer embeddings
        self.embedded: Node | None = None  # the scaled token embeddings
        self.ple: Node | None = None  # the per-layer inputs, one slice per block

    def _rot(self, kind: int) -> int:
        """K's Hadamard rotation size in a cache of this kind (0: none)."""
        head = self.key_of[kind]
        return head & -head if self.shape.rotate_k else 0

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        s = self.shape
        ub = s.n_ubatch
        leaves: list[Node] = []
        leaf = partial(add_leaf, leaves)
        self.cache_kind = kinds
        tokens = self._token_leaves(leaves)
        if self.per_layer:
            self.ple_tokens = leaf(ub, I32)
        caches: list[Inputs | StateInputs] = []
        positions: Node | None = None
        for index, n_kv in enumerate(n_kv_per_cache):
            rot = self._rot(kinds[index])
            k_rot = leaf(rot * rot, F32) if rot else None
            if positions is None:
                positions = leaf(ub, I32)
            v_rot = leaf(s.rotate_v * s.rotate_v, F32) if s.rotate_v else None
            k_idxs = leaf(ub, I64)
            v_idxs = leaf(ub if s.flash_attn else ub * s.n_head_kv * s.value_length, I64)
            kq_mask = self._mask_leaf(leaves, n_kv, index)
            for node in (k_idxs, v_idxs):  # freed after the cache's last store, not its last read
                node.children += _ALIVE
            self.idxs.append((k_idxs, v_idxs))
            caches.append(Inputs(None, None, kq_mask, k_rot, v_rot, index))
        assert positions is not None
        self.out_ids = leaf(ub, I32)
        return leaves, tokens, positions, self.out_ids, caches

    def embeddings(self, nodes: list[Node], tokens: Node) -> Node:
        s = self.shape
        embd = _node(nodes, (s.n_embd, s.n_ubatch), (tokens,))
        if self.per_layer:
            assert self.ple_tokens is not None
            rows = _node(nodes, (self.per_layer * self.n_layer, s.n_ubatch), (self.ple_tokens,))
            self.ple_selected = _node(nodes, (self.per_layer, self.n_layer, s.n_ubatch),
                                      (_view(nodes, rows),), inplace=True)  # x sqrt(width)
        self.embedded = _node(nodes, (s.n_embd, s.n_ubatch), (embd,), inplace=True)  # scaled
        return self.embedded

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        assert isinstance(inp, Inputs)
        cur = _node(nodes, ne, (residual,), inplace=True)  # rms_norm
        cur = _node(nodes, ne, (cur,), inplace=True)  # x norm weight
        cur = self._gemma4_attention(nodes, cur, positions, inp, n_kv)
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-attention norm
        attn_out = _node(nodes, ne, (cur, residual), inplace=True)
        if s.n_expert:
            cur = self._dense_and_experts(nodes, attn_out)
        else:
            cur = _node(nodes, ne, (attn_out,), inplace=True)
            cur = _node(nodes, ne, (cur,), inplace=True)  # ffn norm
            cur = self._dense_ffn(nodes, cur, self._ff())
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-ffn norm
        cur = _node(nodes, ne, (cur, attn_out), inplace=True)
        if self.per_layer:
            cur = self._per_layer_embedding(nodes, cur)
        return cur

    def _gemma4_attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                          n_kv: int) -> Node:
        s = self.shape
        ub = s.n_ubatch
        kind = self.cache_kind[inp.cache]
        head, kv_heads, rot = self.key_of[kind], self.kv_heads_of[kind], self._rot(kind)
        q = self._projection(nodes, x, s.n_head, head, positions, inp.k_rot, rot)
        if self.block < self.kv_from:
            k = self._projection(nodes, x, kv_heads, head, positions, inp.k_rot, rot)
            v = _node(nodes, (kv_heads * head, ub), (x,))
            v = _node(nodes, (head, kv_heads, ub), (_view(nodes, v),), inplace=True)  # rms_norm
            v = self._rotate(nodes, v, kv_heads * head * ub, inp.v_rot, s.rotate_v)
            if not s.flash_attn and kv_heads * head < s.n_head_kv * s.value_length:
                # a transposed V cache row is as wide as the widest block's: padded
                v = _node(nodes, (s.n_head_kv * s.value_length, ub), (_view(nodes, v),))
            k_idxs, v_idxs = self.idxs[inp.cache]
            self._store_kv(nodes, k, v, Inputs(k_idxs, v_idxs, inp.kq_mask, None, None,
                                               inp.cache))
            if self.block == self.last_store[kind]:
                k_idxs.children -= _ALIVE
                v_idxs.children -= _ALIVE
        cur = self._attend_cache(nodes, q, inp, n_kv, head)
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection

    def _per_layer_embedding(self, nodes: list[Node], pe_in: Node) -> Node:
        """This block's slice of the per-layer inputs gates a projection of the stream."""
        s = self.shape
        ub = s.n_ubatch
        gate = _node(nodes, (self.per_layer, ub), (pe_in,))
        gate = _node(nodes, (self.per_layer, ub), (gate,), inplace=True)  # gelu
        if self.ple is None:
            self.ple = self._project_per_layer_inputs(nodes)
        own = _view(nodes, self.ple)
        if self.block == self.n_layer - 1:
            self.ple.children -= _ALIVE
        cur = _node(nodes, (self.per_layer, ub), (gate, own), inplace=True)
        cur = _node(nodes, (s.n_embd, ub), (cur,))
        cur = _node(nodes, (s.n_embd, ub), (cur,), inplace=True)
        cur = _node(nodes, (s.n_embd, ub), (cur,), inplace=True)  # post norm
        return _node(nodes, (s.n_embd, ub), (pe_in, cur), inplace=True)

    def _project_per_layer_inputs(self, nodes: list[Node]) -> Node:
        """project_per_layer_inputs: the scaled embeddings projected to every block's
        width, normed, added to the looked-up rows, laid out per block."""
        s = self.shape
        ub, width = s.n_ubatch, self.per_layer * self.n_layer
        assert self.embedded is not None and self.ple_selected is not None
        proj = _node(nodes, (width, ub), (self.embedded,))
        proj = _node(nodes, (width, ub), (proj,), inplace=True)  # scale
        ne = (self.per_layer, self.n_layer, ub)
        proj = _node(nodes, ne, (_view(nodes, proj),), inplace=True)  # rms_norm of a view
        proj = _node(nodes, ne, (proj,), inplace=True)  # x norm weight
        proj = _node(nodes, ne, (proj, self.ple_selected), inplace=True)
        proj = _node(nodes, ne, (proj,), inplace=True)  # scale
        ple = _node(nodes, (self.per_layer, ub, self.n_layer), (_view(nodes, proj),))  # cont
        ple.children += _ALIVE
        return ple

    def _ff(self) -> int:
        return self.ff_of[self.block >= self.kv_from]

    def _dense_and_experts(self, nodes: list[Node], attn_out: Node) -> Node:
        """The 26B-A4B feed-forward: routed experts (their router on its own norm of the
        block's input, built first: build_moe_ffn expands the weights early) beside the
        dense GELU MLP, each with its own post-norm, summed."""
        s = self.shape
        ub, used = s.n_ubatch, s.n_expert_used
        ne = (s.n_embd, ub)
        scaled = _node(nodes, ne, (attn_out,), inplace=True)  # rms_norm, no weight
        scaled = _node(nodes, ne, (scaled,), inplace=True)  # / sqrt(n_embd)
        scaled = _node(nodes, ne, (scaled,), inplace=True)  # x router scale
        logits = _node(nodes, (s.n_expert, ub), (scaled,))
        probs = _node(nodes, (s.n_expert, ub), (logits,), inplace=True)  # softmax
        probs_rows = _view(nodes, probs)
        top = _view(nodes, _node(nodes, (s.n_expert, ub), (probs,), dtype=I32))  # argsort
        weights = _view(nodes, _node(nodes, (1, used, ub), (probs_rows, top)))  # get_rows
        total = _node(nodes, (1, ub), (weights,))  # sum_rows
        total = _node(nodes, (1, ub), (total,), inplace=True)  # clamp
        weights = _view(nodes, _node(nodes, (used, ub), (weights, total), inplace=True))
        x = _node(nodes, ne, (attn_out,), inplace=True)
        x = _node(nodes, ne, (x,), inplace=True)  # pre-norm 2
        x_rows = _view(nodes, x)
        gate = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
        up = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
        act = _node(nodes, (s.n_ff, used, ub), (gate, up))  # geglu
        down = _node(nodes, (s.n_embd, used, ub), (act, top))
        if self.expert_scale:  # each chosen expert's scale, repeated per token, picked
            scales = _node(nodes, (1, s.n_expert, ub), ())
            scales = _node(nodes, (1, used, ub), (scales, top))
            down = _node(nodes, (s.n_embd, used, ub), (down, scales), inplace=True)
        weighted = _node(nodes, (s.n_embd, used, ub), (down, weights), inplace=True)
        moe = sum_experts(nodes, weighted, used, ne)
        mlp = _node(nodes, ne, (attn_out,), inplace=True)
        mlp = _node(nodes, ne, (mlp,), inplace=True)  # ffn norm 1
        mlp = self._dense_ffn(nodes, mlp, self._ff())
        mlp = _node(nodes, ne, (mlp,), inplace=True)
        mlp = _node(nodes, ne, (mlp,), inplace=True)  # post-norm 1
        moe = _node(nodes, ne, (moe,), inplace=True)
        moe = _node(nodes, ne, (moe,), inplace=True)  # post-norm 2
        return _node(nodes, ne, (mlp, moe), inplace=True)

    def output(self, nodes: list[Node], residual: Node) -> None:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        assert self.out_ids is not None
        cur = _node(nodes, ne, (residual,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True, output=True)  # h_nextn
        cur = _node(nodes, ne, (cur, self.out_ids), output=True)  # result_norm: output rows
        _node(nodes, (s.n_vocab, s.n_ubatch), (cur,), output=True)  # logits (soft-capped)
