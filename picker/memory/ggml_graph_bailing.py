"""The graph of Ling / Ring 2.0 (llama.cpp's bailingmoe2), for the replay.

Its attention projects Q, K and V with one fused matmul; the three are views of that
tensor (none can be written in place), Q and K RMS-normed per head and roped (over half
of each head: still one op), V copied out to be contiguous where the cache stores it
transposed (flash attention off) or rotated (a quantized V cache). The feed-forward is
glm4moe's (`ggml_graph_moe`): a dense lead block, then routed experts (sigmoid router
with a selection bias, expert groups, weights normalised and scaled) beside a shared
expert. Read off src/models/bailingmoe2.cpp, llm_graph_context::build_qkv and
llama_kv_cache::cpy_v of the llama.cpp that llama-cpp-python 0.3.36 vendors; checked
against its compute buffer by tests/test_memory_archs.py.
"""

from __future__ import annotations

from picker.memory.ggml_alloc import Node
from picker.memory.ggml_graph import _EXTERNAL, Inputs, _node, _view
from picker.memory.ggml_graph_moe import SharedExpertGraph


class FusedQKVGraph(SharedExpertGraph):
    """Blocks of bailingmoe2: fused QKV attention, glm4moe's feed-forward."""

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        s = self.shape
        ub, head = s.n_ubatch, s.key_length
        kv_width = s.n_head_kv * head
        qkv = _node(nodes, (s.n_head * head + 2 * kv_width, ub), (x,))
        q = self._heads(nodes, qkv, s.n_head, head, positions, inp.k_rot, s.rotate_k)
        v = _view(nodes, qkv)  # strided: rows of the fused tensor
        if inp.v_rot is not None:  # llama_mul_mat_hadamard copies a strided view first
            ne = (s.rotate_v, kv_width * ub // s.rotate_v)
            rows = _node(nodes, ne, (v,))
            v = _view(nodes, _node(nodes, ne, (inp.v_rot, rows)))
        k = self._heads(nodes, qkv, s.n_head_kv, head, positions, inp.k_rot, s.rotate_k)
        assert inp.k_idxs is not None and inp.v_idxs is not None
        nodes.append(Node(0, (), False, (_view(nodes, k), inp.k_idxs), view_src=_EXTERNAL))
        if not s.flash_attn and inp.v_rot is None:  # cpy_v: ggml_cont_2d of the strided V
            v = _node(nodes, (kv_width, ub), (v,))
        nodes.append(Node(0, (), False, (_view(nodes, v), inp.v_idxs), view_src=_EXTERNAL))
        cur = self._attend_cache(nodes, q, inp, n_kv, s.value_length)
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection
