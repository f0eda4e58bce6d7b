"""The graph of StepFun's Step 3.5 / 3.7 Flash (llama.cpp's step35), for the replay.

Each block: a pre-norm; Q, V and K projections (Q and K RMS-normed per head, then roped),
the attention with no output matmul inside it, the merged heads multiplied per head by a
sigmoid gate projected from the block's normed input, then the output matmul; the
residual add, a pre-FFN norm, a dense FFN in the leading blocks or routed experts
(sigmoid router with a selection bias, weights normalised and scaled) plus a shared
expert; the residual add. Full-attention blocks and sliding ones have their own query
heads (64 and 96 in Step 3.5 Flash) over 8 KV heads; two caches. The last block keeps
every row: the output rows are picked from its result (kept as an output for
multi-token prediction) before the final norm. Read off src/models/step35.cpp of the
llama.cpp that llama-cpp-python 0.3.36 vendors; checked against its compute buffer by
tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import GraphShape, Inputs, StateInputs, _node, _view
from picker.memory.ggml_graph_moe import SharedExpertGraph
from picker.memory.ggml_graph_oss import output_of_kept_block


def step35_extra(shared_extra: tuple[int, ...], heads: tuple[int, int]) -> tuple[int, ...]:
    """`GraphShape.extra`: `shared_expert_extra`'s, then the query heads of the full and of
    the sliding blocks."""
    return (*shared_extra, *heads)


class Step35Graph(SharedExpertGraph):
    """Blocks of step35 (`GraphShape.extra` from `step35_extra`)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        self.heads_of = shape.extra[10:12]  # query heads: full blocks, sliding blocks
        self.cache_kind: tuple[int, ...] = ()  # per cache: 0 full, 1 sliding
        self.out_ids: Node | None = None

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        self.cache_kind = kinds
        found = super().inputs(n_kv_per_cache, kinds)
        self.out_ids = found[3]
        return found

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        assert isinstance(inp, Inputs)
        self.query_heads = self.heads_of[self.cache_kind[inp.cache] % 2]
        # the last block keeps every row (picked in `output`, after its result is kept)
        return super().layer(nodes, residual, positions, inp, n_kv, None)

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        """build_qkv (Q, K, V matmuls, reshaped), the Q/K norms and rope, build_attn
        without its output matmul (Q, V, K expanded in that order), the head-wise gate."""
        s = self.shape
        ub, heads = s.n_ubatch, self.query_heads
        q = self._projection(nodes, x, heads, s.key_length, positions, inp.k_rot, s.rotate_k)
        v = self._projection(nodes, x, s.n_head_kv, s.value_length, None, inp.v_rot,
                             s.rotate_v)
        k = self._projection(nodes, x, s.n_head_kv, s.key_length, positions, inp.k_rot,
                             s.rotate_k)
        cur = self._attend(nodes, q, k, v, inp, n_kv)
        gate = _node(nodes, (heads, ub), (x,))
        gate = _node(nodes, (heads, ub), (gate,), inplace=True)  # sigmoid
        gated = _node(nodes, (s.value_length, heads, ub),
                      (_view(nodes, cur), _view(nodes, gate)), inplace=True)
        return _node(nodes, (s.n_embd, ub), (_view(nodes, gated),))  # output projection

    def output(self, nodes: list[Node], residual: Node) -> None:
        assert self.out_ids is not None
        output_of_kept_block(nodes, self.shape, residual, self.out_ids)
