"""A vision projector's compute buffer, replayed: the graph clip (llama.cpp's mtmd) reserves.

At load, clip builds the graph of one warm-up image (`image_size` square) and hands it to
ggml-alloc, whose high-water mark is the compute buffer it keeps. This module emits that
graph's tensors in ggml's execution order (depth-first from the output, with each block's
Q, K and V placed first, as clip's `build_attn` asks) and runs them through the same
allocator rules `ggml_alloc` replays for the text model. The order and shapes were read off
clip.cpp and models/siglip.cpp (llama-cpp-python 0.3.36) for the SigLIP encoder of Gemma 3
projectors (`clip.projector_type` "gemma3"); tests/test_projector_clip.py checks the result
against clip's own log.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from picker.memory.ggml_alloc import Arena, Node, run

F32, F16, BF16 = 0, 1, 30  # ggml type ids
TYPE_BYTES = {F32: 4, F16: 2, BF16: 2}  # the weight types whose copies are replayed
_EXTERNAL = Node(0, (), False, ())  # a weight: in the weights buffer, not the arena
REPLAYED = frozenset({"gemma3"})


class VisionShape(NamedTuple):
    """What the warm-up graph's tensor sizes depend on (from the projector's header)."""

    n_embd: int
    n_ff: int
    n_head: int
    n_layer: int
    image_size: int
    patch_size: int
    n_merge: int  # Gemma 3's average pooling of the patch grid (per side)
    n_text_embd: int  # rows of the input projection: the text model's width
    projection_type: int  # ggml type of mm.input_projection.weight (a TYPE_BYTES key)
    im2col_type: int  # F16, or F32 where the patch weights are BF16
    pre_norm: bool  # a layer norm before the first block (v.pre_ln)
    post_norm: bool  # one after the last (v.post_ln)


def _tensor(nodes: list[Node], ne: tuple[int, ...], srcs: tuple[Node, ...],
            inplace: bool = False, dtype: int = F32) -> Node:
    node = Node(prod(ne) * TYPE_BYTES[dtype], (dtype, *ne), inplace, srcs)
    nodes.append(node)
    return node


def _view(nodes: list[Node], src: Node) -> Node:
    node = Node(0, (), False, (src,), src.view_src if src.view_src is not None else src)
    nodes.append(node)
    return node


def _norm(nodes: list[Node], cur: Node, ne: tuple[int, ...]) -> Node:
    """ggml_norm (new memory), then its weight and bias (in place)."""
    cur = _tensor(nodes, ne, (cur,))
    cur = _tensor(nodes, ne, (cur, _EXTERNAL), inplace=True)
    return _tensor(nodes, ne, (cur, _EXTERNAL), inplace=True)


def _linear(nodes: list[Node], cur: Node, ne: tuple[int, ...]) -> Node:
    """A matrix product (new memory) and its bias (in place)."""
    cur = _tensor(nodes, ne, (_EXTERNAL, cur))
    return _tensor(nodes, ne, (cur, _EXTERNAL), inplace=True)


def _inputs(nodes: list[Node], shape: VisionShape, side: int) -> Node:
    """The raw image, the patch convolution (im2col, a product, two copies) and the
    position embeddings: the residual stream entering block 0."""
    patches = side * side
    raw = _tensor(nodes, (shape.image_size, shape.image_size, 3), ())
    im2col = _tensor(nodes, (3 * shape.patch_size ** 2, side, side), (_EXTERNAL, raw),
                     dtype=shape.im2col_type)
    product = _tensor(nodes, (patches, shape.n_embd), (_view(nodes, im2col), _EXTERNAL))
    permuted = _view(nodes, _view(nodes, product))
    conv = _tensor(nodes, (side, side, shape.n_embd), (permuted,))
    transposed = _view(nodes, _view(nodes, conv))
    cur = _tensor(nodes, (shape.n_embd, patches), (transposed,))
    cur = _tensor(nodes, (shape.n_embd, patches), (cur, _EXTERNAL), inplace=True)  # bias
    cur = _tensor(nodes, (shape.n_embd, patches), (cur, _EXTERNAL), inplace=True)  # positions
    cur = _view(nodes, cur)
    if shape.pre_norm:
        cur = _norm(nodes, cur, (shape.n_embd, patches))
    return cur


def _qkv(nodes: list[Node], shape: VisionShape, residual: Node,
         patches: int) -> tuple[Node, Node, Node]:
    """A block's first norm and Q, K, V (ggml_build_forward_order puts them first)."""
    width = (shape.n_embd, patches)
    normed = _norm(nodes, residual, width)
    q = _view(nodes, _linear(nodes, normed, width))
    k = _view(nodes, _linear(nodes, normed, width))
    v = _view(nodes, _linear(nodes, normed, width))
    return q, k, v


def _attention_rest(nodes: list[Node], shape: VisionShape, residual: Node,
                    qkv: tuple[Node, Node, Node], patches: int, flash_attn: bool) -> Node:
    """Attention from Q, K, V on, the feed-forward block and both residual adds."""
    q, k, v = qkv
    d_head = shape.n_embd // shape.n_head
    width = (shape.n_embd, patches)
    if flash_attn:
        q_perm = _view(nodes, q)
        k_half = _tensor(nodes, (d_head, patches, shape.n_head), (_view(nodes, k),), dtype=F16)
        v_half = _tensor(nodes, (d_head, patches, shape.n_head), (_view(nodes, v),), dtype=F16)
        attended = _tensor(nodes, (d_head, shape.n_head, patches), (q_perm, k_half, v_half))
        out = _view(nodes, attended)
    else:
        v_cont = _tensor(nodes, (patches, d_head, shape.n_head), (_view(nodes, v),))
        k_perm, q_perm = _view(nodes, k), _view(nodes, q)
        scores = _tensor(nodes, (patches, patches, shape.n_head), (k_perm, q_perm))
        scores = _tensor(nodes, (patches, patches, shape.n_head), (scores,), inplace=True)
        mixed = _tensor(nodes, (d_head, patches, shape.n_head), (v_cont, scores))
        out = _tensor(nodes, width, (_view(nodes, mixed),))
    cur = _linear(nodes, out, width)
    residual = _tensor(nodes, width, (cur, residual), inplace=True)
    cur = _norm(nodes, residual, width)
    cur = _linear(nodes, cur, (shape.n_ff, patches))
    cur = _tensor(nodes, (shape.n_ff, patches), (cur,), inplace=True)  # GELU
    cur = _linear(nodes, cur, width)
    return _tensor(nodes, width, (residual, cur), inplace=True)


def _gemma3_output(nodes: list[Node], shape: VisionShape, cur: Node, weight: Node,
                   side: int) -> None:
    """Post-norm, 2-D average pooling, RMS norm and the input projection (`weight`: the
    copy of its transposed weight clip makes in the compute buffer)."""
    pooled_side = side // shape.n_merge
    tokens = pooled_side * pooled_side
    if shape.post_norm:
        cur = _norm(nodes, cur, (shape.n_embd, side * side))
    cur = _view(nodes, _view(nodes, cur))
    cur = _tensor(nodes, (side, side, shape.n_embd), (cur,))
    cur = _tensor(nodes, (pooled_side, pooled_side, shape.n_embd), (cur,))
    cur = _view(nodes, _view(nodes, cur))
    cur = _tensor(nodes, (shape.n_embd, tokens), (cur,))
    cur = _tensor(nodes, (shape.n_embd, tokens), (cur,), inplace=True)  # RMS norm
    cur = _tensor(nodes, (shape.n_embd, tokens), (cur, _EXTERNAL), inplace=True)
    _tensor(nodes, (shape.n_text_embd, tokens), (weight, cur))


def compute_bytes(shape: VisionShape, flash_attn: bool) -> int:
    """The compute buffer clip reserves for one warm-up image of a Gemma 3 projector."""
    side = shape.image_size // shape.patch_size
    patches = side * side
    nodes: list[Node] = []
    residual = _inputs(nodes, shape, side)
    weight = _EXTERNAL
    for il in range(shape.n_layer):
        qkv = _qkv(nodes, shape, residual, patches)
        if il == shape.n_layer - 1:
            # the final expand meets the projection's transposed copy before the last block
            weight = _tensor(nodes, (shape.n_embd, shape.n_text_embd),
                             (_view(nodes, _EXTERNAL),), dtype=shape.projection_type)
        residual = _attention_rest(nodes, shape, residual, qkv, patches, flash_attn)
    _gemma3_output(nodes, shape, residual, weight, side)
    arena = Arena()
    run(arena, nodes)
    return arena.high
