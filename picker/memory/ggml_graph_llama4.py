"""The graph of Llama 4 (llama.cpp's llama4), for the replay.

Three of every four blocks attend within chunks (their own cache) with rope and then
an RMS norm without weight on Q and K; the fourth attends over the whole context
without rope, its Q scaled by the attention-temperature input instead. The
feed-forward routes each token by a sigmoid router that selects on the raw logits,
weighs the token before the experts (a repeat and a multiply), keeps the one expert's
output as a copy (n_expert_used 1) and adds an always-on shared expert of the same
width. Read off src/models/llama4.cpp and llm_graph_context::build_moe_ffn of the
llama.cpp that llama-cpp-python 0.3.36 vendors; checked against its compute buffer by
tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    F32,
    I32,
    Inputs,
    LayerGraph,
    StateInputs,
    _node,
    _view,
    add_leaf,
)

NO_ROPE_STEP = 4  # every 4th block: no rope (llama.cpp's n_no_rope_layer_step)


class _WithInput(Inputs):
    """A cache's inputs and one more leaf only its blocks read, freed with them."""

    __slots__ = ("also",)

    def __init__(self, inp: Inputs, also: Node) -> None:
        super().__init__(inp.k_idxs, inp.v_idxs, inp.kq_mask, inp.k_rot, inp.v_rot, inp.cache)
        self.also = also

    def shared(self) -> list[Node]:
        return [*super().shared(), self.also]


class Llama4Graph(LayerGraph):
    """Blocks of llama4 with chunked attention (GraphShape's caches: full, chunked)."""

    attn_scale: Node | None = None

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        leaves, tokens, positions, out_ids, caches = super().inputs(n_kv_per_cache, kinds)
        # inp_attn_scale (1 x 1 x n_tokens): first read by the first full-attention block's
        # Q, after that cache's K rotation (leaves are placed in the order blocks read them)
        self.attn_scale = add_leaf([], self.shape.n_ubatch, F32)
        for index, inp in enumerate(caches):
            assert isinstance(inp, Inputs)
            if kinds[index] % 4:  # chunked blocks alone rope: the positions go with them
                caches[index] = _WithInput(inp, positions)
                continue
            first = inp.k_rot if inp.k_rot is not None else inp.shared()[0]
            leaves.insert(leaves.index(first) + (inp.k_rot is not None), self.attn_scale)
            caches[index] = _WithInput(inp, self.attn_scale)
        return leaves, tokens, positions, out_ids, caches

    def _heads(self, nodes: list[Node], projected: Node, heads: int, head_dim: int,
               positions: Node | None, rot: Node | None, rot_size: int) -> Node:
        ne = (head_dim, heads, self.shape.n_ubatch)
        cur = _view(nodes, projected)
        if positions is not None:
            if (self.block + 1) % NO_ROPE_STEP:
                cur = _node(nodes, ne, (cur, positions), inplace=True)  # rope
                cur = _node(nodes, ne, (cur,), inplace=True)  # rms_norm, no weight
            elif heads == self.shape.n_head:
                assert self.attn_scale is not None
                cur = _node(nodes, ne, (cur, self.attn_scale), inplace=True)
        return self._rotate(nodes, cur, heads * head_dim * self.shape.n_ubatch, rot,
                            rot_size)

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        s = self.shape
        ub, used = s.n_ubatch, s.n_expert_used
        logits = _node(nodes, (s.n_expert, ub), (x,))
        probs = _node(nodes, (s.n_expert, ub), (logits,), inplace=True)  # sigmoid
        probs_rows = _view(nodes, probs)
        top = _view(nodes, _node(nodes, (s.n_expert, ub), (logits,), dtype=I32))  # argsort
        weights = _node(nodes, (1, used, ub), (probs_rows, top))  # get_rows
        repeated = _node(nodes, (s.n_embd, used, ub), (_view(nodes, x),))  # repeat_4d
        weighted = _node(nodes, (s.n_embd, used, ub), (repeated, weights), inplace=True)
        up = _node(nodes, (s.n_ff, used, ub), (weighted, top))
        gate = _node(nodes, (s.n_ff, used, ub), (weighted, top))
        act = _node(nodes, (s.n_ff, used, ub), (gate, up))
        down = _node(nodes, (s.n_embd, used, ub), (act, top))
        experts = [_view(nodes, down) for _ in range(used)]
        routed = experts[0]
        for expert in experts[1:]:
            routed = _node(nodes, (s.n_embd, ub), (routed, expert), inplace=True)
        if used == 1:
            routed = _node(nodes, (s.n_embd, ub), (routed,))  # cont
        shared = self._dense_ffn(nodes, x, s.n_ff)
        return _node(nodes, (s.n_embd, ub), (routed, shared), inplace=True)
