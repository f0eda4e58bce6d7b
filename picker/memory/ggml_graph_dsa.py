"""The graph of GLM-5 / 5.1 (glm-dsa: DeepSeek sparse attention over multi-head latent
attention), for the replay.

Each block first runs the lightning indexer: its key (a layer-normed, roped, Hadamard-
rotated row) goes into a cache of its own; its per-head queries come from the query's
low-rank bottleneck. The indexer scores every cached token (one fused op, an f32 row of
n_kv per token), keeps the top k, and turns them into a mask: an -inf copy of the cache's
mask with the chosen cells zeroed, plus the mask itself. Attention is deepseek2's absorbed
MLA under that mask; the feed-forward is deepseek2's. Read off src/models/glm-dsa.cpp and
llm_graph_context::build_attn (the DSA input) of the llama.cpp that llama-cpp-python 0.3.36
vendors, in the order GGML_SCHED_DEBUG=2 lists the graph it reserves on the CPU (where the
fused lightning indexer is used); checked against its compute buffer by
tests/test_memory_archs.py. Only layouts where every block runs its own indexer (GLM-5,
5.1) are built: GLM-5.2's blocks that reuse an earlier block's top-k are not.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    _EXTERNAL,
    F16,
    F32,
    I32,
    I64,
    GraphShape,
    Inputs,
    StateInputs,
    _node,
    _view,
    add_leaf,
)
from picker.memory.ggml_graph_mla import LatentAttentionGraph


class SparseInputs(Inputs):
    """The MLA cache's inputs plus the indexer cache's: its row indices, its mask (f16:
    the fused indexer's) and the Hadamard rotation its keys and queries go through."""

    __slots__ = ("lid_idxs", "lid_mask", "rotation")

    def __init__(self, k_idxs: Node, kq_mask: Node, lid_idxs: Node, lid_mask: Node,
                 rotation: Node) -> None:
        super().__init__(k_idxs, None, kq_mask, None, None, 0)
        self.lid_idxs = lid_idxs
        self.lid_mask = lid_mask
        self.rotation = rotation

    def shared(self) -> list[Node]:
        return [*super().shared(), self.lid_idxs, self.lid_mask, self.rotation]


def sparse_attention_extra(indexer: tuple[int, ...], n_blocks: int) -> tuple[int, ...]:
    """What `GraphShape.extra` carries before MLA's sizes: the indexer's heads, key length
    and top-k, and the number of blocks (each has a tensor of its own among the inputs)."""
    return (*indexer, n_blocks)


class SparseLatentAttentionGraph(LatentAttentionGraph):
    """Blocks of glm-dsa (`GraphShape.extra`: `shared_expert_extra`,
    `sparse_attention_extra`, then MLA's sizes as `LatentAttentionGraph` reads them).

    Every block's top-k mask starts from a zero-filled tensor that is a leaf of the graph,
    and ggml-alloc places every leaf before the first node: the blocks' zeros are all
    allocated up front, each freed by its own block, so no two blocks leave the arena alike
    (each is recorded and placed on its own)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        self.idx_heads, self.idx_dim, self.top_k, self.n_blocks = shape.extra[-8:-4]
        self.zeros: list[Node] = []

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        """The graph's leaves in the order its construction first meets them (ggml-alloc
        places them so): the indexer key's rotation, the positions (its rope), the indexer's
        row indices, the MLA cache's, block 0's zeros, the indexer's mask (the fused
        scores), the MLA mask (the top-k mask's fill), the other blocks' zeros. (The
        rotation comes before the positions: the rotated key's matmul lists it first.)"""
        ub = self.shape.n_ubatch
        n_kv = n_kv_per_cache[0]
        leaves: list[Node] = []
        tokens = self._token_leaves(leaves)
        rotation = add_leaf(leaves, self.idx_dim * self.idx_dim, F32)
        positions = add_leaf(leaves, ub, I32)
        lid_idxs = add_leaf(leaves, ub, I64)
        k_idxs = add_leaf(leaves, ub, I64)
        zeros_layout = (F32, 1, self.top_k, ub)
        self.zeros = [Node(self.top_k * ub * 4, zeros_layout, False, ())]
        leaves.append(self.zeros[0])
        lid_mask = add_leaf(leaves, n_kv * ub, F16, (0, ub * 2))
        kq_mask = self._mask_leaf(leaves, n_kv, 0)
        for _ in range(1, self.n_blocks):
            self.zeros.append(Node(self.top_k * ub * 4, zeros_layout, False, ()))
            leaves.append(self.zeros[-1])
        out_ids = add_leaf(leaves, ub, I32)
        return leaves, tokens, positions, out_ids, [
            SparseInputs(k_idxs, kq_mask, lid_idxs, lid_mask, rotation)]

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        assert isinstance(inp, SparseInputs)
        ub, dim = self.shape.n_ubatch, self.idx_dim
        # the indexer's key, stored first (its store is expanded before anything else)
        key = _node(nodes, (dim, ub), (x,))  # x indexer.attn_k
        key = _node(nodes, (dim, ub), (key,))  # layer norm (not in place in ggml)
        key = _node(nodes, (dim, ub), (key,), inplace=True)  # x norm weight
        key = _node(nodes, (dim, ub), (key,), inplace=True)  # + norm bias
        # rope, on a reshaped view: ggml writes it into the view's source (same layout)
        key = _node(nodes, (dim, ub), (key, positions), inplace=True)
        key = _node(nodes, (dim, 1, ub), (inp.rotation, key))  # Hadamard
        nodes.append(Node(0, (), False, (_view(nodes, key), inp.lid_idxs), view_src=_EXTERNAL))
        # the query's bottleneck: read by the MLA query and, later, the indexer's queries
        low = self._low_rank_query(nodes, x)
        q_perm = self._latent_query_and_key(nodes, x, low, positions, inp)
        return self._latent_attend(nodes, q_perm, inp, n_kv,
                                   lambda: self._top_k_mask(nodes, x, low, positions, inp, n_kv))

    def _top_k_mask(self, nodes: list[Node], x: Node, low: Node, positions: Node,
                    inp: SparseInputs, n_kv: int) -> Node:
        """The attention mask of the indexer's top-k cells, built where the attention's
        mask is first needed (the zeros set into it, then the indexer it selects by)."""
        ub, top_k = self.shape.n_ubatch, self.top_k
        mask_type = F16 if self.shape.flash_attn else F32
        zeros = _node(nodes, (1, top_k, ub), (self.zeros[self.block],),
                      inplace=True)  # this block's zeros leaf, filled with 0 in place
        query = _node(nodes, (self.idx_heads * self.idx_dim, ub), (low,))  # x indexer.attn_q_b
        query = _node(nodes, (self.idx_heads * self.idx_dim, ub), (query, positions),
                      inplace=True)  # rope, into its reshaped source as for the key
        query = _node(nodes, (self.idx_dim, self.idx_heads, ub), (inp.rotation, query))
        weights = _node(nodes, (self.idx_heads, ub), (x,))  # x indexer.proj
        weights = _node(nodes, (self.idx_heads, ub), (weights,), inplace=True)  # scale
        scores = _node(nodes, (n_kv, ub), (_view(nodes, query), weights, inp.lid_mask),
                       cache=inp.cache)  # the fused lightning indexer
        chosen = _node(nodes, (top_k, ub), (scores,), dtype=I32)  # top_k
        chosen = _node(nodes, (top_k, ub), (chosen,), dtype=I32)  # cont
        filled = _node(nodes, (n_kv, ub), (inp.kq_mask,), inplace=True, dtype=mask_type,
                       cache=inp.cache)  # -inf, shaped as the mask
        # zeros set into the filled mask at the chosen cells (a view of it: nothing new)
        nodes.append(Node(0, (), False, (zeros, _view(nodes, chosen)), view_src=_EXTERNAL))
        # + the cache's own mask: new memory (its first operand is a view of a view of the
        # filled mask, which ggml-alloc does not write over; measured)
        return _node(nodes, (n_kv, ub), (filled, inp.kq_mask), dtype=mask_type,
                     cache=inp.cache)
