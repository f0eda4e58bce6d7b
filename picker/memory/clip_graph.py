"""A vision projector's compute buffer, replayed: the graph clip (llama.cpp's mtmd) reserves.

At load, clip builds the graph of one warm-up image (`image_size` square) and hands it to
ggml-alloc, whose high-water mark is the compute buffer it keeps. This module emits that
graph's tensors in ggml's execution order (depth-first from the output, with each block's
Q, K and V placed first, as clip's `build_attn` asks) and runs them through the same
allocator rules `ggml_alloc` replays for the text model. The order and shapes were read off
clip.cpp, models/siglip.cpp and models/llava.cpp (llama-cpp-python 0.3.36) for two
projector types (`clip.projector_type`): "gemma3" (SigLIP, average pooling, the input
projection) and "mlp" (LLaVA-1.5's CLIP ViT with a class token, a two-layer MLP);
tests/test_projector_clip.py checks the result against clip's own log.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from picker.memory.ggml_alloc import Arena, Node, run

F32, F16, BF16, I32 = 0, 1, 30, 26  # ggml type ids
_ELEMENT_BYTES = {F32: 4, F16: 2, BF16: 2, I32: 4}
COPIED_WEIGHT_TYPES = frozenset({F32, F16, BF16})  # Gemma 3's projection weight is copied
_EXTERNAL = Node(0, (), False, ())  # a weight: in the weights buffer, not the arena
GEMMA3, MLP = "gemma3", "mlp"
REPLAYED = frozenset({GEMMA3, MLP})


class VisionShape(NamedTuple):
    """What the warm-up graph's tensor sizes depend on (from the projector's header)."""

    kind: str  # a REPLAYED projector type
    n_embd: int
    n_ff: int
    n_head: int
    n_layer: int
    image_size: int
    patch_size: int
    n_merge: int  # Gemma 3's average pooling of the patch grid (per side; 1 for MLP)
    n_text_embd: int  # the projection's output: the text model's width
    n_hidden: int  # MLP: mm.0's output width (mm.2 then maps it to n_text_embd)
    projection_type: int  # Gemma 3: mm.input_projection.weight's ggml type (copied)
    im2col_type: int  # F16, or F32 where the patch weights are BF16
    class_token: bool  # v.class_embd: one position more than the patches
    pre_norm: bool  # a layer norm before the first block (v.pre_ln)
    post_norm: bool  # one after the last (v.post_ln)


def _tensor(nodes: list[Node], ne: tuple[int, ...], srcs: tuple[Node, ...],
            inplace: bool = False, dtype: int = F32) -> Node:
    node = Node(prod(ne) * _ELEMENT_BYTES[dtype], (dtype, *ne), inplace, srcs)
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


def _inputs(nodes: list[Node], shape: VisionShape, side: int) -> tuple[Node, Node]:
    """The graph's input leaves (ggml places them before any node), the patch convolution
    (im2col, a product, two copies), the class token and the position embeddings: the
    residual stream entering block 0, and the leaf LLaVA's output reads (the patches' rows;
    the raw image for Gemma 3, where it is unused)."""
    patches = side * side
    n_pos = patches + shape.class_token
    raw = _tensor(nodes, (shape.image_size, shape.image_size, 3), ())
    positions = _tensor(nodes, (n_pos,), (), dtype=I32) if shape.kind == MLP else None
    patch_rows = _tensor(nodes, (patches,), (), dtype=I32) if shape.kind == MLP else raw
    im2col = _tensor(nodes, (3 * shape.patch_size ** 2, side, side), (_EXTERNAL, raw),
                     dtype=shape.im2col_type)
    product = _tensor(nodes, (patches, shape.n_embd), (_view(nodes, im2col), _EXTERNAL))
    permuted = _view(nodes, _view(nodes, product))
    conv = _tensor(nodes, (side, side, shape.n_embd), (permuted,))
    transposed = _view(nodes, _view(nodes, conv))
    cur = _tensor(nodes, (shape.n_embd, patches), (transposed,))
    if shape.class_token:
        cur = _tensor(nodes, (shape.n_embd, n_pos), (cur, _EXTERNAL))  # concat
    if positions is not None:  # the embeddings' rows gathered (f32), then added in place
        rows = _tensor(nodes, (shape.n_embd, n_pos), (_EXTERNAL, positions))
        cur = _tensor(nodes, (shape.n_embd, n_pos), (cur, rows), inplace=True)
    else:  # Gemma 3: the patch bias and the whole embeddings table added in place
        cur = _tensor(nodes, (shape.n_embd, n_pos), (cur, _EXTERNAL), inplace=True)
        cur = _tensor(nodes, (shape.n_embd, n_pos), (cur, _EXTERNAL), inplace=True)
        cur = _view(nodes, cur)
    if shape.pre_norm:
        cur = _norm(nodes, cur, (shape.n_embd, n_pos))
    return cur, patch_rows


def _qkv(nodes: list[Node], shape: VisionShape, residual: Node,
         n_pos: int) -> tuple[Node, Node, Node]:
    """A block's first norm and Q, K, V (ggml_build_forward_order puts them first)."""
    width = (shape.n_embd, n_pos)
    normed = _norm(nodes, residual, width)
    q = _view(nodes, _linear(nodes, normed, width))
    k = _view(nodes, _linear(nodes, normed, width))
    v = _view(nodes, _linear(nodes, normed, width))
    return q, k, v


def _attention_rest(nodes: list[Node], shape: VisionShape, residual: Node,
                    qkv: tuple[Node, Node, Node], n_pos: int, flash_attn: bool) -> Node:
    """Attention from Q, K, V on, the feed-forward block and both residual adds."""
    q, k, v = qkv
    d_head = shape.n_embd // shape.n_head
    width = (shape.n_embd, n_pos)
    if flash_attn:
        q_perm = _view(nodes, q)
        k_half = _tensor(nodes, (d_head, n_pos, shape.n_head), (_view(nodes, k),), dtype=F16)
        v_half = _tensor(nodes, (d_head, n_pos, shape.n_head), (_view(nodes, v),), dtype=F16)
        attended = _tensor(nodes, (d_head, shape.n_head, n_pos), (q_perm, k_half, v_half))
        out = _view(nodes, attended)
    else:
        v_cont = _tensor(nodes, (n_pos, d_head, shape.n_head), (_view(nodes, v),))
        k_perm, q_perm = _view(nodes, k), _view(nodes, q)
        scores = _tensor(nodes, (n_pos, n_pos, shape.n_head), (k_perm, q_perm))
        scores = _tensor(nodes, (n_pos, n_pos, shape.n_head), (scores,), inplace=True)
        mixed = _tensor(nodes, (d_head, n_pos, shape.n_head), (v_cont, scores))
        out = _tensor(nodes, width, (_view(nodes, mixed),))
    cur = _linear(nodes, out, width)
    residual = _tensor(nodes, width, (cur, residual), inplace=True)
    cur = _norm(nodes, residual, width)
    cur = _linear(nodes, cur, (shape.n_ff, n_pos))
    cur = _tensor(nodes, (shape.n_ff, n_pos), (cur,), inplace=True)  # GELU
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


def _mlp_output(nodes: list[Node], shape: VisionShape, cur: Node, patch_rows: Node,
                patches: int) -> None:
    """LLaVA: the patches' rows (the class token dropped), then the MLP: mm.0, GELU, mm.2."""
    if shape.post_norm:
        cur = _norm(nodes, cur, (shape.n_embd, patches + shape.class_token))
    cur = _tensor(nodes, (shape.n_embd, patches), (_view(nodes, cur), patch_rows))
    cur = _linear(nodes, cur, (shape.n_hidden, patches))
    cur = _tensor(nodes, (shape.n_hidden, patches), (cur,), inplace=True)  # GELU
    _linear(nodes, cur, (shape.n_text_embd, patches))


def compute_bytes(shape: VisionShape, flash_attn: bool) -> int:
    """The compute buffer clip reserves for one warm-up image of this projector."""
    side = shape.image_size // shape.patch_size
    patches = side * side
    n_pos = patches + shape.class_token
    nodes: list[Node] = []
    residual, patch_rows = _inputs(nodes, shape, side)
    # LLaVA stops before the last block (its features are the second-to-last layer's)
    n_layer = shape.n_layer - 1 if shape.kind == MLP else shape.n_layer
    weight = _EXTERNAL
    for il in range(n_layer):
        qkv = _qkv(nodes, shape, residual, n_pos)
        if il == n_layer - 1 and shape.kind == GEMMA3:
            # the final expand meets the projection's transposed copy before the last block
            weight = _tensor(nodes, (shape.n_embd, shape.n_text_embd),
                             (_view(nodes, _EXTERNAL),), dtype=shape.projection_type)
        residual = _attention_rest(nodes, shape, residual, qkv, n_pos, flash_attn)
    if shape.kind == GEMMA3:
        _gemma3_output(nodes, shape, residual, weight, side)
    else:
        _mlp_output(nodes, shape, residual, patch_rows, patches)
    arena = Arena()
    run(arena, nodes)
    return arena.high
