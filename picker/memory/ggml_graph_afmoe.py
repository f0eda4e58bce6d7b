"""The graph of Arcee's Trinity models (llama.cpp's afmoe), for the replay.

Each block: a pre-norm, gated attention (Q/K RMS-normed per head, rope only where
`(block + 1) % 4` is not 0, the merged heads multiplied by a sigmoid gate projected from
the block's normed input, then the output matmul), a post-attention norm, the residual
add, a pre-FFN norm, a dense FFN in the leading blocks or routed experts (sigmoid
router with a selection bias, weights normalised and scaled) plus a shared expert,
a post-FFN norm and the residual add. The embeddings are scaled (muP) in place; three
sliding-window blocks precede each full one (two caches). Read off src/models/afmoe.cpp
of the llama.cpp that llama-cpp-python 0.3.36 vendors; checked against its compute
buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import Inputs, StateInputs, _node, _view
from picker.memory.ggml_graph_llama4 import _WithInput
from picker.memory.ggml_graph_moe import SharedExpertGraph

# llama.cpp's n_no_rope_layer_step default, which afmoe does not override: every fourth
# block attends without rope (Trinity's full-attention blocks).
NO_ROPE_STEP = 4


class AfmoeGraph(SharedExpertGraph):
    """Blocks of afmoe (`GraphShape.extra`: `shared_expert_extra`)."""

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        """The sliding-window blocks alone rope (the full ones are every fourth): the
        positions are freed with that cache's inputs, after its last block, not kept to
        the last block as in other models."""
        leaves, tokens, positions, out_ids, caches = super().inputs(n_kv_per_cache, kinds)
        for index, inp in enumerate(caches):
            if isinstance(inp, Inputs) and kinds and kinds[index] % 4 == 1:
                caches[index] = _WithInput(inp, positions)
        return leaves, tokens, positions, out_ids, caches

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        assert isinstance(inp, Inputs)
        cur = _node(nodes, ne, (residual,), inplace=True)  # rms_norm
        cur = _node(nodes, ne, (cur,), inplace=True)  # x attention norm weight
        cur = self._gated_attention(nodes, cur, positions, inp, n_kv)
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-attention norm
        if out_ids is not None:
            cur = _node(nodes, ne, (cur, out_ids))
            residual = _node(nodes, ne, (residual, out_ids))
        ffn_inp = _node(nodes, ne, (cur, residual), inplace=True)
        cur = _node(nodes, ne, (ffn_inp,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # ffn norm
        cur = self._feed_forward(nodes, cur)
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-ffn norm
        return _node(nodes, ne, (cur, ffn_inp), inplace=True)

    def _normed_heads(self, nodes: list[Node], x: Node, heads: int, head_dim: int,
                      positions: Node | None, rot: Node | None, rot_size: int) -> Node:
        """Q or K: matmul, reshaped to heads, RMS-normed, roped (where the block is),
        rotated for a quantized cache."""
        ub = self.shape.n_ubatch
        cur = _view(nodes, _node(nodes, (heads * head_dim, ub), (x,)))
        ne = (head_dim, heads, ub)
        cur = _node(nodes, ne, (cur,), inplace=True)  # rms_norm
        cur = _node(nodes, ne, (cur,), inplace=True)  # x norm weight
        if positions is not None:
            cur = _node(nodes, ne, (cur, positions), inplace=True)  # rope
        return self._rotate(nodes, cur, heads * head_dim * ub, rot, rot_size)

    def _gated_attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                         n_kv: int) -> Node:
        """build_qkv, the norms and rope, build_attn without its output matmul (the
        interleaved-SWA variant: Q, K, V expanded in that order), then the gate."""
        s = self.shape
        ub = s.n_ubatch
        roped = positions if (self.block + 1) % NO_ROPE_STEP else None
        q = self._normed_heads(nodes, x, s.n_head, s.key_length, roped, inp.k_rot,
                               s.rotate_k)
        k = self._normed_heads(nodes, x, s.n_head_kv, s.key_length, roped, inp.k_rot,
                               s.rotate_k)
        v = self._projection(nodes, x, s.n_head_kv, s.value_length, None, inp.v_rot,
                             s.rotate_v)
        cur = self._attend(nodes, q, k, v, inp, n_kv)
        gate = _node(nodes, (s.n_head * s.value_length, ub), (x,))
        gate = _node(nodes, (s.n_head * s.value_length, ub), (gate,), inplace=True)  # sigmoid
        cur = _node(nodes, (s.n_head * s.value_length, ub), (cur, gate), inplace=True)
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection
