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
from picker.memory.ggml_graph import _EXTERNAL, Inputs, LayerGraph, _node, _view
from picker.memory.ggml_graph_moe import SharedExpertGraph


def fused_qkv_attend(graph: LayerGraph, nodes: list[Node], x: Node, positions: Node,
                     inp: Inputs, n_kv: int, kv_heads: int) -> Node:
    """One QKV matmul; Q, K and V strided views of it (none written in place), Q and K
    normed (where the model does) and roped, V made contiguous where the cache stores it
    transposed or rotates it; the stores and the attention, before the output matmul
    (bailingmoe2; mimo2's fused files, with `kv_heads` by kind of block)."""
    s = graph.shape
    ub = s.n_ubatch
    k_width, v_width = kv_heads * s.key_length, kv_heads * s.value_length
    qkv = _node(nodes, (s.n_head * s.key_length + k_width + v_width, ub), (x,))
    q = graph._heads(nodes, qkv, s.n_head, s.key_length, positions, inp.k_rot, s.rotate_k)
    v = _view(nodes, qkv)  # strided: rows of the fused tensor
    if inp.v_rot is not None:  # llama_mul_mat_hadamard copies a strided view first
        ne = (s.rotate_v, v_width * ub // s.rotate_v)
        rows = _node(nodes, ne, (v,))
        v = _view(nodes, _node(nodes, ne, (inp.v_rot, rows)))
    k = graph._heads(nodes, qkv, kv_heads, s.key_length, positions, inp.k_rot, s.rotate_k)
    assert inp.k_idxs is not None and inp.v_idxs is not None
    nodes.append(Node(0, (), False, (_view(nodes, k), inp.k_idxs), view_src=_EXTERNAL))
    if not s.flash_attn and inp.v_rot is None:  # cpy_v: ggml_cont_2d of the strided V
        v = _node(nodes, (v_width, ub), (v,))
    nodes.append(Node(0, (), False, (_view(nodes, v), inp.v_idxs), view_src=_EXTERNAL))
    return graph._attend_cache(nodes, q, inp, n_kv, s.value_length)


class FusedQKVGraph(SharedExpertGraph):
    """Blocks of bailingmoe2: fused QKV attention, glm4moe's feed-forward."""

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        s = self.shape
        cur = fused_qkv_attend(self, nodes, x, positions, inp, n_kv, s.n_head_kv)
        return _node(nodes, (s.n_embd, s.n_ubatch), (cur,))  # output projection
