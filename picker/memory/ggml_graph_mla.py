"""The graph of DeepSeek V2 / V3 / R1 and the models converted as them (deepseek2: multi-head
latent attention; mistral4, Mistral Small 4, is the same model class in llama.cpp), for the
replay.

llama.cpp runs MLA "absorbed": every head's query is multiplied into the latent space
(attn_k_b), the cache holds one latent row per token (kv_lora_rank plus the rope
part, a K-only cache that V is a view of), and the heads' outputs are decompressed
by attn_v_b after attention. Without flash attention the latent V is copied out
transposed (an f16 n_kv x kv_lora_rank tensor per block); with it, flash attention
writes latent rows that attn_v_b then decompresses. The feed-forward is glm4moe's
(dense lead blocks, routed experts plus shared ones: `SharedExpertGraph`). Read off
src/models/deepseek2.cpp and llm_graph_context::build_attn / build_attn_mha of the
llama.cpp that llama-cpp-python 0.3.36 vendors (GGML_SCHED_DEBUG=2 lists the graph it
reserves); checked against its compute buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from collections.abc import Callable

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    _EXTERNAL,
    F16,
    I32,
    I64,
    GraphShape,
    Inputs,
    StateInputs,
    _node,
    _view,
    add_leaf,
)
from picker.memory.ggml_graph_moe import SharedExpertGraph

# llama.cpp's llama_model_mistral4 reuses deepseek2's hparams, tensors and graph
# (src/models/models.h); it only asks for f32 precision in the experts' down matmul, which
# changes no buffer.
LATENT_ATTENTION_ARCHITECTURES = frozenset({"deepseek2", "mistral4"})


class LatentAttentionGraph(SharedExpertGraph):
    """Blocks of deepseek2 (`GraphShape.extra`: `shared_expert_extra`, then q_lora_rank,
    key_length_mla, value_length_mla and the rope width). `GraphShape.key_length` is
    the cache row (kv_lora_rank + rope), `value_length` the latent V (kv_lora_rank)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        self.q_lora_rank, self.key_mla, self.value_mla, self.rope = shape.extra[-4:]

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        """build_attn_inp_k: one K-only cache (no V rows to write, no Hadamard rotation)."""
        ub = self.shape.n_ubatch
        leaves: list[Node] = []
        tokens = self._token_leaves(leaves)
        positions = add_leaf(leaves, ub, I32)
        k_idxs = add_leaf(leaves, ub, I64)
        kq_mask = self._mask_leaf(leaves, n_kv_per_cache[0], 0)
        out_ids = add_leaf(leaves, ub, I32)
        return leaves, tokens, positions, out_ids, [Inputs(k_idxs, None, kq_mask, None, None, 0)]

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        q_perm = self._latent_query_and_key(nodes, x, self._low_rank_query(nodes, x),
                                            positions, inp)
        return self._latent_attend(nodes, q_perm, inp, n_kv, lambda: inp.kq_mask)

    def _low_rank_query(self, nodes: list[Node], x: Node) -> Node:
        """The query's own low-rank bottleneck (normed), or `x` where there is none."""
        if not self.q_lora_rank:
            return x
        ub = self.shape.n_ubatch
        low = _node(nodes, (self.q_lora_rank, ub), (x,))
        low = _node(nodes, (self.q_lora_rank, ub), (low,), inplace=True)  # rms_norm
        return _node(nodes, (self.q_lora_rank, ub), (low,), inplace=True)  # x norm weight

    def _latent_query_and_key(self, nodes: list[Node], x: Node, low: Node, positions: Node,
                              inp: Inputs) -> Node:
        """The absorbed query (returned as the permuted view attention reads) and the latent
        key row, stored in the cache."""
        s = self.shape
        ub, heads, rope = s.n_ubatch, s.n_head, self.rope
        latent = s.value_length  # kv_lora_rank
        q = _node(nodes, (heads * self.key_mla, ub), (low,))
        q_heads = _view(nodes, q)
        q_nope = _view(nodes, _view(nodes, q_heads))  # the non-rope part, permuted
        absorbed = _node(nodes, (latent, ub, heads), (q_nope,))  # x attn_k_b
        absorbed = _view(nodes, absorbed)
        q_pe = _node(nodes, (rope, heads, ub), (_view(nodes, q_heads), positions),
                     inplace=True)  # rope of a view: new memory
        q_cur = _node(nodes, (latent + rope, heads, ub), (absorbed, q_pe))  # concat
        kv_pe = _node(nodes, (latent + rope, ub), (x,))  # attn_kv_a_mqa
        kv = _node(nodes, (latent, ub), (_view(nodes, kv_pe),), inplace=True)  # rms_norm
        kv = _node(nodes, (latent, ub), (kv,), inplace=True)  # x norm weight
        v_cur = _view(nodes, kv)
        k_pe = _node(nodes, (rope, 1, ub), (_view(nodes, kv_pe), positions), inplace=True)
        k_cur = _node(nodes, (latent + rope, 1, ub), (v_cur, k_pe))  # concat
        assert inp.k_idxs is not None
        nodes.append(Node(0, (), False, (_view(nodes, k_cur), inp.k_idxs), view_src=_EXTERNAL))
        return _view(nodes, q_cur)

    def _latent_attend(self, nodes: list[Node], q_perm: Node, inp: Inputs, n_kv: int,
                       mask: Callable[[], Node]) -> Node:
        """Attention over the latent cache, the heads decompressed by attn_v_b, the output
        projection. `mask()` builds the mask where the graph first needs it (DSA builds its
        top-k mask there)."""
        s = self.shape
        ub, heads = s.n_ubatch, s.n_head
        latent = s.value_length
        if s.flash_attn:
            out = _node(nodes, (latent, heads, ub), (q_perm, mask()))
            out = _node(nodes, (self.value_mla, ub, heads), (_view(nodes, out),))  # x attn_v_b
            cur = _node(nodes, (self.value_mla * heads, ub), (_view(nodes, out),))  # cont
        else:
            v_cont = _node(nodes, (n_kv, latent), (), dtype=F16, cache=inp.cache)  # V^T copy
            kq = _node(nodes, (n_kv, ub, heads), (q_perm,), cache=inp.cache)
            kq = _node(nodes, (n_kv, ub, heads), (kq, mask()), inplace=True,
                       cache=inp.cache)  # softmax
            kqv = _node(nodes, (latent, ub, heads), (v_cont, kq))
            kqv = _node(nodes, (self.value_mla, ub, heads), (kqv,))  # x attn_v_b
            cur = _node(nodes, (self.value_mla * heads, ub), (_view(nodes, kqv),))  # cont
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection
