"""The graph of the gated-delta-net hybrids (Qwen3.5, Qwen3.5 MoE, Qwen3-Next), for the replay.

Three of every four blocks are a gated delta net (a recurrent layer: a short
convolution over the token stream, then llama.cpp's fused GATED_DELTA_NET op over a
per-sequence state), the fourth is gated attention (a Q projection twice as wide,
whose second half gates the attention output). The feed-forward is dense (qwen35)
or routed experts plus a sigmoid-gated shared expert (qwen35moe, qwen3next).

Tensors and their order were read off src/models/qwen35.cpp, qwen35moe.cpp,
qwen3next.cpp and delta-net-base.cpp of the llama.cpp that llama-cpp-python
0.3.36 vendors (with GGML_SCHED_DEBUG=2 listing the graph it reserves) and are
checked against its compute buffer by tests/test_memory_archs.py. As in
`ggml_graph`, the state and KV caches live in other buffers: reads and writes of
them are views of `_EXTERNAL`.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    _EXTERNAL,
    GraphShape,
    Inputs,
    LayerGraph,
    StateInputs,
    _node,
    _view,
)

DELTA_NET_ARCHITECTURES = frozenset({"qwen35", "qwen35moe", "qwen3next"})


def delta_net_extra(delta_net: tuple[int, ...], n_ff_shared: int,
                    architecture: str) -> tuple[int, ...]:
    """`GraphShape.extra` of a delta-net hybrid from `ModelShape.delta_net`. Qwen3-Next
    repeats Q and K up to the value heads before the fused op (Qwen3.5 lets it broadcast)."""
    _, key_heads, value_heads, _, _ = delta_net
    repeat_qk = int(architecture == "qwen3next" and key_heads != value_heads)
    return (*delta_net, n_ff_shared, repeat_qk)


class DeltaNetGraph(LayerGraph):
    """Blocks of qwen35 / qwen35moe / qwen3next (`GraphShape.extra` from `delta_net_extra`)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        (self.conv_kernel, self.key_heads, self.value_heads, self.key_head_dim,
         self.value_head_dim, self.n_ff_shared, self.repeat_qk) = shape.extra
        self.out_ids: Node | None = None
        if shape.architecture != "qwen3next":  # Qwen3.5's M-RoPE: 4 positions per token
            self.positions_per_token = 4

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        found = super().inputs(n_kv_per_cache, kinds)
        self.out_ids = found[3]
        return found

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        # the last block keeps every row: the output rows are picked after the final norm
        return super().layer(nodes, residual, positions, inp, n_kv, None)

    def output(self, nodes: list[Node], residual: Node) -> None:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        assert self.out_ids is not None
        cur = _node(nodes, ne, (residual,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True, output=True)  # h_nextn, kept for MTP
        cur = _node(nodes, ne, (cur, self.out_ids), output=True)  # result_norm: output rows
        _node(nodes, (s.n_vocab, s.n_ubatch), (cur,), output=True)  # logits

    def _mixer(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs | StateInputs,
               n_kv: int) -> Node:
        if isinstance(inp, StateInputs):
            return self._delta_net(nodes, x, inp)
        return self._gated_attention(nodes, x, positions, inp, n_kv)

    def _gated_attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                         n_kv: int) -> Node:
        s = self.shape
        ub, heads, head_dim = s.n_ubatch, s.n_head, s.key_length
        q_full = _node(nodes, (2 * head_dim * heads, ub), (x,))  # query and its gate
        q = self._heads(nodes, q_full, heads, head_dim, positions, inp.k_rot, s.rotate_k)
        v = self._projection(nodes, x, s.n_head_kv, s.value_length, None, inp.v_rot,
                             s.rotate_v)
        k = self._projection(nodes, x, s.n_head_kv, head_dim, positions, inp.k_rot, s.rotate_k)
        cur = self._attend(nodes, q, k, v, inp, n_kv)
        gate = _node(nodes, (head_dim * heads, ub), (_view(nodes, q_full),))  # cont
        gate = _node(nodes, (head_dim * heads, ub), (gate,), inplace=True)  # sigmoid
        cur = _node(nodes, (head_dim * heads, ub), (cur, gate), inplace=True)
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection

    def _state_rows(self, nodes: list[Node], inp: StateInputs, floats: int) -> Node:
        """build_rs: the sequence's state copied out of the cache (the spare rows, none
        with one sequence, are copied back)."""
        rows = _node(nodes, (floats, 1), (_view(nodes, inp.s_copy),))
        spare = _node(nodes, (floats, 0), (_view(nodes, inp.s_copy),))
        nodes.append(Node(0, (), False, (spare,), view_src=_EXTERNAL))
        return rows

    def _delta_net(self, nodes: list[Node], x: Node, inp: StateInputs) -> Node:
        s = self.shape
        ub = s.n_ubatch
        k_heads, v_heads = self.key_heads, self.value_heads
        k_dim, v_dim = self.key_head_dim, self.value_head_dim
        channels = 2 * k_heads * k_dim + v_heads * v_dim
        # the convolution's state, the new tokens after it, and its last columns saved
        conv_states = self._state_rows(nodes, inp, (self.conv_kernel - 1) * channels)
        qkv = _node(nodes, (channels, ub), (x,))
        conv_input = _node(nodes, (ub + self.conv_kernel - 1, channels),
                           (_view(nodes, conv_states), _view(nodes, _view(nodes, qkv))))
        nodes.append(Node(0, (), False, (_view(nodes, conv_input),), view_src=_EXTERNAL))
        state = self._state_rows(nodes, inp, v_dim * v_dim * v_heads)
        conv = _node(nodes, (channels, ub), (conv_input,))  # ssm_conv
        conv = _node(nodes, (channels, ub), (conv,), inplace=True)  # silu
        heads = []
        for _ in range(2):  # Q, then K: an L2 norm (rms_norm, scale)
            cur = _node(nodes, (k_dim, k_heads, ub), (_view(nodes, conv),))
            cur = _node(nodes, (k_dim, k_heads, ub), (cur,), inplace=True)
            if self.repeat_qk:
                cur = _view(nodes, _node(nodes, (k_dim, v_heads // k_heads, k_heads, ub),
                                         (_view(nodes, cur),)))
            heads.append(cur)
        values = _view(nodes, conv)
        gate, beta = self._decay_and_beta(nodes, x)
        out = _node(nodes, (v_dim * v_heads * ub + v_dim * v_dim * v_heads,),
                    (*heads, values, gate, beta, _view(nodes, state)))  # gated delta net
        nodes.append(Node(0, (), False, (_view(nodes, out),), view_src=_EXTERNAL))  # new state
        ne = (v_dim, v_heads, ub)
        cur = _node(nodes, ne, (_view(nodes, out),), inplace=True)  # rms_norm
        cur = _node(nodes, ne, (cur,), inplace=True)  # x ssm_norm
        z = _node(nodes, (v_dim * v_heads, ub), (x,))
        z = _node(nodes, ne, (_view(nodes, z),), inplace=True)  # silu
        cur = _node(nodes, ne, (cur, z), inplace=True)
        cur = _node(nodes, (s.n_embd, ub), (_view(nodes, cur),))  # ssm_out
        return _view(nodes, cur)

    def _decay_and_beta(self, nodes: list[Node], x: Node) -> tuple[Node, Node]:
        """The per-head decay gate (softplus(alpha + dt) x A) and beta (a sigmoid)."""
        ub, v_heads = self.shape.n_ubatch, self.value_heads
        ne = (v_heads, ub)
        if self.architecture == "qwen3next":  # one matmul for both, then split
            both = _node(nodes, (2 * v_heads, ub), (x,))
            alpha = _node(nodes, ne, (_view(nodes, both),))  # cont
        else:
            alpha = _view(nodes, _node(nodes, ne, (x,)))
        gate = _node(nodes, ne, (alpha,), inplace=True)  # + dt bias
        gate = _node(nodes, ne, (gate,), inplace=True)  # softplus
        gate = _view(nodes, _node(nodes, ne, (gate,), inplace=True))  # x A
        if self.architecture == "qwen3next":
            beta = _node(nodes, (1, v_heads, ub), (_view(nodes, both),))  # cont
        else:
            beta = _view(nodes, _node(nodes, ne, (x,)))
        beta = _node(nodes, (1, v_heads, ub), (beta,), inplace=True)  # sigmoid
        return gate, _view(nodes, beta)

    @property
    def architecture(self) -> str:
        return self.shape.architecture

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        if not self.shape.n_expert:
            return super()._feed_forward(nodes, x)
        s = self.shape
        ub = s.n_ubatch
        routed = self._routed_experts(nodes, x)
        shared = self._dense_ffn(nodes, x, self.n_ff_shared)
        weight = _node(nodes, (1, ub), (x,))
        weight = _node(nodes, (1, ub), (weight,), inplace=True)  # sigmoid
        shared = _node(nodes, (s.n_embd, ub), (shared, weight), inplace=True)
        return _node(nodes, (s.n_embd, ub), (routed, shared), inplace=True)
