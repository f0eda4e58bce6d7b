"""The graph of MoE models with leading dense blocks and shared experts (GLM-4.5 / 4.6 /
4.7: glm4moe; deepseek2's and mistral4's feed-forward, under `ggml_graph_mla`'s attention),
for the replay.

Attention is Qwen2's (biased Q/K/V projections, rope); the first `dense lead` blocks
have a dense feed-forward, the others route each token to a few experts (sigmoid or
softmax router, a selection bias, weights normalised and scaled as the GGUF says) and
add an always-on shared expert. Read off src/models/glm4-moe.cpp and
llm_graph_context::build_moe_ffn of the llama.cpp that llama-cpp-python 0.3.36 vendors;
checked against its compute buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import GraphShape, LayerGraph, _node

SHARED_EXPERT_ARCHITECTURES = frozenset({"glm4moe", "deepseek2", "mistral4", "glm-dsa",
                                         "deepseek32", "afmoe", "ernie4_5-moe",
                                         "bailingmoe2"})


def shared_expert_extra(n_dense_lead: int, dense_ff: int, n_ff_shared: int,
                        routing: tuple[int, ...], groups: tuple[int, int],
                        fused_gate_up: bool = False) -> tuple[int, ...]:
    """`GraphShape.extra`: dense lead blocks and their width, the shared experts' width,
    `ModelShape.moe_routing` (sigmoid, normalised, scaled, selection bias), the expert
    groups and how many of them are used (0, 0: none), then 1 where the experts' gate and
    up are one gate_up_exps tensor."""
    return (n_dense_lead, dense_ff, n_ff_shared, *routing, *groups, int(fused_gate_up))


class SharedExpertGraph(LayerGraph):
    """Blocks of glm4moe (`GraphShape.extra` from `shared_expert_extra`)."""

    def __init__(self, shape: GraphShape) -> None:
        super().__init__(shape)
        (self.n_dense_lead, self.dense_ff, self.n_ff_shared, self.sigmoid, self.norm_w,
         self.scaled, self.probs_bias, n_groups, n_groups_used, self.fused) = shape.extra[:10]
        self.groups = (n_groups, n_groups_used)

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        if self.block < self.n_dense_lead:
            return self._dense_ffn(nodes, x, self.dense_ff)
        routed = self._routed_experts(nodes, x, sigmoid=bool(self.sigmoid),
                                      probs_bias=bool(self.probs_bias),
                                      norm_w=bool(self.norm_w), scaled=bool(self.scaled),
                                      groups=self.groups, fused=bool(self.fused))
        shared = self._dense_ffn(nodes, x, self.n_ff_shared)
        s = self.shape
        return _node(nodes, (s.n_embd, s.n_ubatch), (routed, shared), inplace=True)
