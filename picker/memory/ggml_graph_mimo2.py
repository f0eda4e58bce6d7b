"""The graph of Xiaomi's MiMo-V2-Flash / V2.5 (llama.cpp's mimo2), for the replay.

Each block: a pre-norm; Q, K and V (three matmuls, or one fused QKV matmul and its views,
as the GGUF holds them), Q and K roped, the attention (its per-head sinks on sliding
blocks are weights the softmax reads, no tensor of their own) and its output matmul, then
the attention output scaled by the model's value scale; the residual add, a pre-FFN norm,
a dense FFN in the leading block or routed experts (sigmoid router with a selection bias,
weights normalised, never scaled: mimo2 reads no scale), no shared expert; the residual
add. Full-attention blocks have fewer KV heads than sliding ones (4 and 8 in
MiMo-V2-Flash); keys are wider than values (192 and 128); two caches. The last block
keeps only the output rows. Read off src/models/mimo2.cpp of the llama.cpp that
llama-cpp-python 0.3.36 vendors; checked against its compute buffer by
tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import GraphShape, Inputs, LayerGraph, StateInputs, _node
from picker.memory.ggml_graph_bailing import fused_qkv_attend


def mimo2_extra(kv_heads: tuple[int, int], n_dense_lead: int, dense_ff: int, probs_bias: bool,
                value_scale: bool, fused_qkv: bool) -> tuple[int, ...]:
    """`GraphShape.extra`: the KV heads of full and of sliding blocks, the dense lead blocks
    and their width, whether the router has a selection bias, whether the attention output
    is scaled and whether Q, K and V are one fused matmul."""
    return (*kv_heads, n_dense_lead, dense_ff, int(probs_bias), int(value_scale),
            int(fused_qkv))


class Mimo2Graph(LayerGraph):
    """Blocks of mimo2 (`GraphShape.extra` from `mimo2_extra`)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        (kv_full, kv_swa, self.n_dense_lead, self.dense_ff, self.probs_bias,
         self.value_scale, self.fused) = shape.extra
        self.kv_of = (kv_full, kv_swa)
        self.cache_kind: tuple[int, ...] = ()  # per cache: 0 full, 1 sliding
        self.kv_heads = shape.n_head_kv  # the block being built

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        self.cache_kind = kinds
        return super().inputs(n_kv_per_cache, kinds)

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        assert isinstance(inp, Inputs)
        self.kv_heads = self.kv_of[self.cache_kind[inp.cache] % 2]
        return super().layer(nodes, residual, positions, inp, n_kv, out_ids)

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        s = self.shape
        ub = s.n_ubatch
        if self.fused:
            cur = fused_qkv_attend(self, nodes, x, positions, inp, n_kv, self.kv_heads)
        else:
            q = self._projection(nodes, x, s.n_head, s.key_length, positions, inp.k_rot,
                                 s.rotate_k)
            v = self._projection(nodes, x, self.kv_heads, s.value_length, None, inp.v_rot,
                                 s.rotate_v)
            k = self._projection(nodes, x, self.kv_heads, s.key_length, positions, inp.k_rot,
                                 s.rotate_k)
            cur = self._attend(nodes, q, k, v, inp, n_kv)
        cur = _node(nodes, (s.n_embd, ub), (cur,))  # output projection
        if self.value_scale:
            cur = _node(nodes, (s.n_embd, ub), (cur,), inplace=True)  # x value scale
        return cur

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        if self.block < self.n_dense_lead:
            return self._dense_ffn(nodes, x, self.dense_ff)
        return self._routed_experts(nodes, x, sigmoid=True, probs_bias=bool(self.probs_bias),
                                    norm_w=True, scaled=False)
