"""The graph of Apertus (llama.cpp's apertus), for the replay.

Attention is Qwen3's (Q and K RMS-normed per head before rope; llama3 rope factors are a
weight, not a node); the feed-forward has no gate: an up projection, the xIELU
activation (a unary op, so ggml-alloc runs it in place) and the down projection. Read
off src/models/apertus.cpp of the llama.cpp that llama-cpp-python 0.3.36 vendors;
checked against its compute buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import LayerGraph, _node


class ApertusGraph(LayerGraph):
    """Blocks of apertus: an ungated xIELU feed-forward."""

    def _dense_ffn(self, nodes: list[Node], x: Node, width: int) -> Node:
        ub = self.shape.n_ubatch
        up = _node(nodes, (width, ub), (x,))
        activated = _node(nodes, (width, ub), (up,), inplace=True)  # ggml_xielu
        return _node(nodes, (self.shape.n_embd, ub), (activated,))
