"""The graph of gpt-oss (OpenAI's open-weight MoE), for the replay.

Attention alternates sliding-window and full blocks (two caches), with biased
Q/K/V and output projections; its per-head sinks are weights read by the softmax
or flash attention, no tensor of their own. The feed-forward routes every token:
a biased router whose top experts' logits are softmaxed (SOFTMAX_WEIGHT), then
each expert's gate, up and down projections plus that expert's bias (ADD_ID) and
OpenAI's clamped SwiGLU. The last block keeps every row; the output rows are picked
from its result (kept as an output for multi-token prediction) before the final norm.
Read off src/models/openai-moe.cpp and llm_graph_context::build_moe_ffn of the
llama.cpp that llama-cpp-python 0.3.36 vendors (GGML_SCHED_DEBUG=2 lists the graph it
reserves); checked against its compute buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import (
    I32,
    GraphShape,
    Inputs,
    LayerGraph,
    StateInputs,
    _node,
    _view,
    sum_experts,
)


def output_of_kept_block(nodes: list[Node], s: GraphShape, residual: Node,
                         out_ids: Node) -> None:
    """The output layer of a model whose last block keeps every row: its result is kept
    (t_h_nextn, for multi-token prediction), the output rows picked from it, then the final
    norm and the logits."""
    ne = (s.n_embd, s.n_ubatch)
    residual.output = True
    cur = _node(nodes, ne, (residual, out_ids))  # the output rows
    cur = _node(nodes, ne, (cur,), inplace=True)
    cur = _node(nodes, ne, (cur,), inplace=True, output=True)  # result_norm
    _node(nodes, (s.n_vocab, s.n_ubatch), (cur,), output=True)  # logits


class OpenAIMoEGraph(LayerGraph):
    """Blocks of gpt-oss."""

    out_ids: Node | None = None

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        found = super().inputs(n_kv_per_cache, kinds)
        self.out_ids = found[3]
        return found

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        out = super()._attention(nodes, x, positions, inp, n_kv)
        return _node(nodes, (self.shape.n_embd, self.shape.n_ubatch), (out,),
                     inplace=True)  # + output bias

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        return super().layer(nodes, residual, positions, inp, n_kv, None)

    def output(self, nodes: list[Node], residual: Node) -> None:
        assert self.out_ids is not None
        output_of_kept_block(nodes, self.shape, residual, self.out_ids)

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        s = self.shape
        ub, used = s.n_ubatch, s.n_expert_used
        logits = _node(nodes, (s.n_expert, ub), (x,))
        probs = _node(nodes, (s.n_expert, ub), (logits,), inplace=True)  # + router bias
        probs_rows = _view(nodes, probs)
        order = _node(nodes, (s.n_expert, ub), (probs,), dtype=I32)  # argsort
        top = _view(nodes, order)
        weights = _node(nodes, (1, used, ub), (probs_rows, top))  # get_rows
        weights = _node(nodes, (used, ub), (_view(nodes, weights),))  # softmax of a view
        weights = _view(nodes, weights)
        x_rows = _view(nodes, x)
        start = len(nodes)
        gate = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
        gate = _node(nodes, (s.n_ff, used, ub), (gate, top), inplace=True)  # + expert bias
        up = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
        up = _node(nodes, (s.n_ff, used, ub), (up, top), inplace=True)
        act = _node(nodes, (s.n_ff, used, ub), (gate, up))  # swiglu_oai
        down = _node(nodes, (s.n_embd, used, ub), (act, top))
        down = _node(nodes, (s.n_embd, used, ub), (down, top), inplace=True)
        self.expert_span = (start, len(nodes))
        weighted = _node(nodes, (s.n_embd, used, ub), (down, weights), inplace=True)
        return sum_experts(nodes, weighted, used, (s.n_embd, ub))
