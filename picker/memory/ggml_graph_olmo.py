"""The graph of OLMo 2 / OLMo 3 (llama.cpp's olmo2), for the replay.

Its blocks have no pre-norms: attention reads the residual stream itself, Q and K
are RMS-normed over all heads before the reshape, and both the attention and the
feed-forward output are normed before their residual adds (after the last block's
output rows are picked). OLMo 3 puts three sliding-window blocks before each full
one (two caches). Read off src/models/olmo2.cpp of the llama.cpp that
llama-cpp-python 0.3.36 vendors; checked against its compute buffer by
tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import Inputs, LayerGraph, StateInputs, _node


class Olmo2Graph(LayerGraph):
    """Blocks of olmo2: post-norms only."""

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        cur = self._mixer(nodes, residual, positions, inp, n_kv)
        if out_ids is not None:
            cur = _node(nodes, ne, (cur, out_ids))
            residual = _node(nodes, ne, (residual, out_ids))
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-attention norm
        ffn_inp = _node(nodes, ne, (cur, residual), inplace=True)
        cur = self._feed_forward(nodes, ffn_inp)
        cur = _node(nodes, ne, (cur,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # post-feed-forward norm
        return _node(nodes, ne, (cur, ffn_inp), inplace=True)
