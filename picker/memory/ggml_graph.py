"""The graph llama.cpp reserves its compute buffer with, one layer at a time.

For the architectures it knows (`SUPPORTED`), `LayerGraph` emits the tensors of
llama.cpp's worst-case micro-batch graph (n_ubatch tokens, every output row, the
full KV cache) in the order ggml executes them: inputs, then per layer the
attention block (Q, K, V projections with their biases, norms, rope and Hadamard
rotations for a quantized cache; KV stores; scores and softmax, or flash
attention) and the feed-forward block (dense or mixture of experts), then the
output norm and logits. Weights and the KV cache live in other buffers and are
left out; views are kept, since a view keeps its source alive.

Only what the allocator looks at is modelled: sizes, element types and shapes
(for in-place reuse), producers and consumers. Ops that only ever run in place
(logit soft-capping, the attention scale) do not change the layout and are left
out. The order was read off llama.cpp's graphs (llama-cpp-python 0.3.36) and is
checked against its buffer sizes by tests/test_memory_accuracy.py.
"""

from __future__ import annotations

from functools import partial
from math import prod

from picker.memory.ggml_alloc import Node

F32, F16, I32, I64 = 0, 1, 26, 27  # ggml type ids
_ELEMENT_BYTES = {F32: 4, F16: 2, I32: 4, I64: 8}
_EXTERNAL = Node(0, (), False, ())  # stands in for the KV cache, in another buffer

# Architecture -> (K projected before V; Q/K norms; Q/K/V biases; Gemma's post-norms and
# scaled embeddings). Mixtral-style MoE GGUFs are "llama" with experts; qwen3moe has
# them too (n_ff is then one expert's width).
SUPPORTED: dict[str, tuple[bool, bool, bool, bool]] = {
    "llama": (False, False, False, False),
    "qwen2": (False, False, True, False),
    "qwen3": (False, True, False, False),
    "qwen3moe": (False, True, False, False),  # qwen3 attention, Mixtral's expert FFN
    "seed_oss": (False, False, True, False),  # Qwen2's attention
    "smollm3": (False, False, False, False),  # its rope-less blocks' rope ran in place anyway
    "mistral3": (False, False, False, False),  # (its attention-temperature input: 2 KiB)
    "olmo2": (False, True, False, False),  # ggml_graph_olmo: post-norms only
    "llama4": (False, False, False, False),  # ggml_graph_llama4: NoPE blocks, its MoE
    "gemma2": (True, False, False, True),
    "gemma3": (True, True, False, True),
    # gated-delta-net hybrids: their attention blocks (ggml_graph_deltanet builds the rest)
    "qwen35": (False, True, False, False),
    "qwen35moe": (False, True, False, False),
    "qwen3next": (False, True, False, False),
    "glm4moe": (False, False, True, False),  # Qwen2's attention (ggml_graph_moe: the FFN)
    "gpt-oss": (True, False, True, False),  # ggml_graph_oss: output bias, its MoE, sinks
    "deepseek2": (False, False, False, False),  # ggml_graph_mla builds its attention
    "mistral4": (False, False, False, False),  # deepseek2's graph (Mistral Small 4)
    "glm-dsa": (False, False, False, False),  # ggml_graph_dsa: deepseek2's, sparse
    "deepseek32": (False, False, False, False),  # the same graph (DeepSeek-V3.2)
    "nanbeige": (False, False, False, False),  # llama's blocks, looped (shape.py)
    "afmoe": (True, True, False, True),  # ggml_graph_afmoe: gated attention, muP-scaled input
    "gemma4": (True, True, False, True),  # ggml_graph_gemma4: per-kind heads, PLE, KV sharing
    "ernie4_5": (False, False, False, False),  # llama's blocks (ERNIE 4.5 0.3B)
    "ernie4_5-moe": (False, False, False, False),  # ggml_graph_moe: its shared-expert FFN
    "apertus": (False, True, False, False),  # ggml_graph_apertus: the xIELU feed-forward
    "bailingmoe2": (False, True, False, False),  # ggml_graph_bailing: fused QKV
    "step35": (False, True, False, False),  # ggml_graph_step35: per-kind heads, gated
    "mimo2": (False, False, False, False),  # ggml_graph_mimo2: per-kind KV heads, sinks
}


class GraphShape:
    """What the graph's tensor sizes depend on (one model, one set of settings). A plain
    class rather than a NamedTuple, which costs ~0.5 ms to define at import."""

    __slots__ = ("architecture", "extra", "flash_attn", "key", "key_length", "n_embd",
                 "n_expert", "n_expert_used", "n_ff", "n_head", "n_head_kv", "n_ubatch",
                 "n_vocab", "rotate_k", "rotate_v", "value_length")

    def __init__(self, architecture: str, n_embd: int, n_vocab: int, n_ubatch: int,
                 n_head: int, n_head_kv: int, key_length: int, value_length: int, n_ff: int,
                 n_expert: int, n_expert_used: int, flash_attn: bool, rotate_k: int,
                 rotate_v: int, extra: tuple[int, ...] = ()) -> None:
        self.architecture = architecture
        self.n_embd = n_embd
        self.n_vocab = n_vocab
        self.n_ubatch = n_ubatch
        self.n_head = n_head
        self.n_head_kv = n_head_kv
        self.key_length = key_length
        self.value_length = value_length
        self.n_ff = n_ff
        self.n_expert = n_expert
        self.n_expert_used = n_expert_used
        self.flash_attn = flash_attn
        self.rotate_k = rotate_k  # size of K's Hadamard rotation (0: none)
        self.rotate_v = rotate_v
        self.extra = extra  # what an architecture's own blocks add (see its builder)
        self.key = (architecture, n_embd, n_vocab, n_ubatch, n_head, n_head_kv, key_length,
                    value_length, n_ff, n_expert, n_expert_used, flash_attn, rotate_k, rotate_v,
                    *extra)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphShape) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


class Inputs:
    """The graph's input tensors of one KV cache (the SWA cache has its own)."""

    __slots__ = ("cache", "k_idxs", "k_rot", "kq_mask", "v_idxs", "v_rot")

    def __init__(self, k_idxs: Node | None, v_idxs: Node | None, kq_mask: Node,
                 k_rot: Node | None,
                 v_rot: Node | None, cache: int) -> None:
        self.k_idxs = k_idxs
        self.v_idxs = v_idxs
        self.kq_mask = kq_mask
        self.k_rot = k_rot
        self.v_rot = v_rot
        self.cache = cache  # which cache (llama.cpp's order)
        # v_idxs is None for a K-only cache (MLA: V is a view of K); both are None where
        # the builder frees them itself (Gemma 4: after the cache's last store)

    def shared(self) -> list[Node]:
        """The leaves every block of this cache reads."""
        return [node for node in (self.k_idxs, self.v_idxs, self.kq_mask, self.k_rot,
                                  self.v_rot) if node is not None]


class StateInputs:
    """The input of a recurrent state (llama.cpp's rs_s_copy): which cache slot to read."""

    __slots__ = ("cache", "s_copy")

    def __init__(self, s_copy: Node, cache: int) -> None:
        self.s_copy = s_copy
        self.cache = cache

    def shared(self) -> list[Node]:
        return [self.s_copy]


RECURRENT = 2  # a block kind beside full (0) and sliding-window (1) attention


def _node(nodes: list[Node], ne: tuple[int, ...], srcs: tuple[Node, ...], inplace: bool = False,
          dtype: int = F32, output: bool = False, cache: int = -1) -> Node:
    """A new tensor; `cache`: its first dimension is that KV cache's cells."""
    while len(ne) > 1 and ne[-1] == 1:  # ggml's shapes are 4-D: trailing ones are implied
        ne = ne[:-1]
    size = prod(ne) * _ELEMENT_BYTES[dtype]
    per_cell = (cache, size // ne[0]) if cache >= 0 else None
    node = Node(size, (dtype, *ne), inplace, srcs, None, output, per_cell)
    nodes.append(node)
    return node


def add_leaf(leaves: list[Node], elements: int, dtype: int,
             cache: tuple[int, int] | None = None) -> Node:
    """An input tensor of `elements` (`cache`: sized per cell of that KV cache)."""
    node = Node(elements * _ELEMENT_BYTES[dtype], (dtype, elements), False, (), cache=cache)
    leaves.append(node)
    return node


def _view(nodes: list[Node], src: Node) -> Node:
    source = src.view_src if src.view_src is not None else src
    node = Node(0, (), False, (src,), source)
    nodes.append(node)
    return node


def sum_experts(nodes: list[Node], weighted: Node, used: int, ne: tuple[int, ...]) -> Node:
    """The chosen experts' weighted outputs added up, one view of `weighted` per expert, as
    llama.cpp's build_moe_ffn does: the first add is new memory, the rest add in place."""
    experts = [_view(nodes, weighted) for _ in range(used)]
    out = experts[0]
    for expert in experts[1:]:
        out = _node(nodes, ne, (out, expert), inplace=True)
    return out


class LayerGraph:
    """Builds the graph's nodes; `inputs()` first, then `layer()` per block, then `output()`."""

    def __init__(self, shape: GraphShape) -> None:
        self.shape = shape
        self.k_before_v, self.qk_norm, self.qkv_bias, self.gemma = SUPPORTED[shape.architecture]
        self.positions_per_token = 1  # 4 with multi-axis rope (M-RoPE)
        self.query_heads = shape.n_head  # of the block being built (step35: by kind)
        self.block = 0  # the block being built (set by the caller)
        # where the routed experts' own ops (the ones whose weights --n-cpu-moe keeps on the
        # CPU) start and end in the block's node list, once a block with experts is built
        self.expert_span: tuple[int, int] | None = None

    def inputs(self, n_kv_per_cache: tuple[int, ...], kinds: tuple[int, ...] = ()
               ) -> tuple[list[Node], Node, Node, Node, list[Inputs | StateInputs]]:
        """The input leaves in llama.cpp's order: (leaves, token ids, positions, output row
        ids, per-cache inputs). `kinds`: each cache's block kind (RECURRENT: a state)."""
        s = self.shape
        ub = s.n_ubatch
        leaves: list[Node] = []
        leaf = partial(add_leaf, leaves)
        tokens = self._token_leaves(leaves)
        caches: list[Inputs | StateInputs] = []
        positions: Node | None = None
        for index, n_kv in enumerate(n_kv_per_cache):
            if kinds and kinds[index] == RECURRENT:  # one sequence: one state slot to copy
                caches.append(StateInputs(leaf(1, I32), index))
                continue
            k_rot = leaf(s.rotate_k * s.rotate_k, F32) if s.rotate_k else None
            if positions is None:
                positions = leaf(ub * self.positions_per_token, I32)
            v_rot = leaf(s.rotate_v * s.rotate_v, F32) if s.rotate_v else None
            k_idxs = leaf(ub, I64)
            # V is stored transposed without flash attention: one row index per element
            v_idxs = leaf(ub if s.flash_attn else ub * s.n_head_kv * s.value_length, I64)
            kq_mask = self._mask_leaf(leaves, n_kv, index)
            caches.append(Inputs(k_idxs, v_idxs, kq_mask, k_rot, v_rot, index))
        if positions is None:  # only recurrent blocks here (one device's share of a hybrid):
            positions = leaf(ub * self.positions_per_token, I32)  # still an input, unused
        out_ids = leaf(ub, I32)
        return leaves, tokens, positions, out_ids, caches

    def _token_leaves(self, leaves: list[Node]) -> Node:
        """The token ids, and the embeddings input beside them (unused for token input,
        allocated anyway)."""
        tokens = add_leaf(leaves, self.shape.n_ubatch, I32)
        add_leaf(leaves, self.shape.n_embd * self.shape.n_ubatch, F32)  # inp_embd
        return tokens

    def _mask_leaf(self, leaves: list[Node], n_kv: int, cache: int) -> Node:
        """A cache's KQ mask: n_kv per token (f16 for flash attention)."""
        mask_type = F16 if self.shape.flash_attn else F32
        ub = self.shape.n_ubatch
        return add_leaf(leaves, n_kv * ub, mask_type, (cache, ub * _ELEMENT_BYTES[mask_type]))

    def embeddings(self, nodes: list[Node], tokens: Node) -> Node:
        embd = _node(nodes, (self.shape.n_embd, self.shape.n_ubatch), (tokens,))
        if self.gemma:  # scaled by sqrt(n_embd), in place
            embd = _node(nodes, (self.shape.n_embd, self.shape.n_ubatch), (embd,), inplace=True)
        return embd

    def _rotate(self, nodes: list[Node], cur: Node, elements: int, rot: Node | None,
                size: int) -> Node:
        """llama_mul_mat_hadamard: a reshape, a matmul by the rotation, a reshape back."""
        if rot is None:
            return cur
        reshaped = _view(nodes, cur)
        rotated = _node(nodes, (size, elements // size), (rot, reshaped))
        return _view(nodes, rotated)

    def _projection(self, nodes: list[Node], x: Node, heads: int, head_dim: int,
                    positions: Node | None, rot: Node | None, rot_size: int) -> Node:
        """One of Q/K/V: matmul (+bias), reshape to heads (+norm), rope, rotation."""
        ub = self.shape.n_ubatch
        cur = _node(nodes, (heads * head_dim, ub), (x,))
        if self.qkv_bias:
            cur = _node(nodes, (heads * head_dim, ub), (cur,), inplace=True)
        return self._heads(nodes, cur, heads, head_dim, positions, rot, rot_size)

    def _heads(self, nodes: list[Node], projected: Node, heads: int, head_dim: int,
               positions: Node | None, rot: Node | None, rot_size: int) -> Node:
        """A projection as heads: a view (+norm), rope, rotation."""
        ub = self.shape.n_ubatch
        cur = _view(nodes, projected)
        ne = (head_dim, heads, ub)
        if self.qk_norm and positions is not None:
            cur = _node(nodes, ne, (cur,), inplace=True)  # rms_norm
            cur = _node(nodes, ne, (cur,), inplace=True)  # x norm weight
        if positions is not None:
            cur = _node(nodes, ne, (cur, positions), inplace=True)  # rope
        return self._rotate(nodes, cur, heads * head_dim * ub, rot, rot_size)

    def _attention(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs,
                   n_kv: int) -> Node:
        s = self.shape
        ub, heads = s.n_ubatch, s.n_head
        q = self._projection(nodes, x, heads, s.key_length, positions, inp.k_rot, s.rotate_k)
        if self.k_before_v:
            k = self._projection(nodes, x, s.n_head_kv, s.key_length, positions, inp.k_rot,
                                 s.rotate_k)
            v = self._projection(nodes, x, s.n_head_kv, s.value_length, None, inp.v_rot,
                                 s.rotate_v)
        else:
            v = self._projection(nodes, x, s.n_head_kv, s.value_length, None, inp.v_rot,
                                 s.rotate_v)
            k = self._projection(nodes, x, s.n_head_kv, s.key_length, positions, inp.k_rot,
                                 s.rotate_k)
        cur = self._attend(nodes, q, k, v, inp, n_kv)
        return _node(nodes, (s.n_embd, ub), (cur,))  # output projection

    def _attend(self, nodes: list[Node], q: Node, k: Node, v: Node, inp: Inputs,
                n_kv: int) -> Node:
        """llama.cpp's build_attn from the projected heads: the KV stores, scores and
        softmax (or flash attention), the heads merged back (before the output matmul)."""
        self._store_kv(nodes, k, v, inp)
        return self._attend_cache(nodes, q, inp, n_kv, self.shape.value_length)

    def _store_kv(self, nodes: list[Node], k: Node, v: Node, inp: Inputs) -> None:
        """K and V written into the cache (another buffer): views of the new rows."""
        assert inp.k_idxs is not None
        nodes.append(Node(0, (), False, (_view(nodes, k), inp.k_idxs), view_src=_EXTERNAL))
        # (llama.cpp takes two views in a row here and there: with one consumer each, a
        # chain of views keeps its source alive exactly as long as one view does)
        v_rows = _view(nodes, v)  # transposed V: reshaped to one element per row
        assert inp.v_idxs is not None
        nodes.append(Node(0, (), False, (v_rows, inp.v_idxs), view_src=_EXTERNAL))

    def _attend_cache(self, nodes: list[Node], q: Node, inp: Inputs, n_kv: int,
                      value_length: int) -> Node:
        """Scores and softmax (or flash attention) of `q` against the cache, the heads
        merged back."""
        s = self.shape
        ub, heads = s.n_ubatch, self.query_heads
        q_heads = _view(nodes, q)  # view per stream, permuted
        if s.flash_attn:
            out = _node(nodes, (value_length, heads, ub), (q_heads, inp.kq_mask))
            cur = _view(nodes, out)
        else:
            kq = _node(nodes, (n_kv, ub, heads), (q_heads,), cache=inp.cache)
            kq = _node(nodes, (n_kv, ub, heads), (kq, inp.kq_mask), inplace=True,
                       cache=inp.cache)  # softmax
            kqv = _node(nodes, (value_length, ub, heads), (kq,))
            cur = _node(nodes, (value_length * heads, ub), (_view(nodes, kqv),))  # cont
        return self._rotate(nodes, cur, value_length * heads * ub, inp.v_rot, s.rotate_v)

    def _feed_forward(self, nodes: list[Node], x: Node) -> Node:
        if not self.shape.n_expert:
            return self._dense_ffn(nodes, x, self.shape.n_ff)
        return self._routed_experts(nodes, x)

    def _dense_ffn(self, nodes: list[Node], x: Node, width: int) -> Node:
        """build_ffn with a SiLU-gated pair: gate, up, their product, down."""
        ub = self.shape.n_ubatch
        gate = _node(nodes, (width, ub), (x,))
        up = _node(nodes, (width, ub), (x,))
        act = _node(nodes, (width, ub), (gate, up))
        return _node(nodes, (self.shape.n_embd, ub), (act,))

    def _routed_experts(self, nodes: list[Node], x: Node, sigmoid: bool = False,
                        probs_bias: bool = False, norm_w: bool = True,
                        scaled: bool = False, groups: tuple[int, int] = (0, 0),
                        fused: bool = False) -> Node:
        """build_moe_ffn: router (softmax or sigmoid, a selection bias, the best `groups[1]`
        of `groups[0]` expert groups), top-k, the chosen experts' weights (normalised to
        sum 1, scaled), the experts (`fused`: one gate_up_exps matmul, split into two
        views), their weighted sum."""
        s = self.shape
        ub = s.n_ubatch
        used = s.n_expert_used
        logits = _node(nodes, (s.n_expert, ub), (x,))
        probs = _node(nodes, (s.n_expert, ub), (logits,), inplace=True)  # softmax / sigmoid
        probs_rows = _view(nodes, probs)
        selection = probs
        if probs_bias:  # + exp_probs_b: chooses the experts, does not weigh them
            selection = _node(nodes, (s.n_expert, ub), (probs,), inplace=True)
        if groups[0] > 1:
            selection = self._best_groups(nodes, selection, *groups)
        order = _node(nodes, (s.n_expert, ub), (selection,), dtype=I32)  # argsort
        top = _view(nodes, order)
        weights = _node(nodes, (1, used, ub), (probs_rows, top))  # get_rows
        if norm_w:
            weights_2d = _view(nodes, weights)
            total = _node(nodes, (1, ub), (weights_2d,))  # sum_rows
            total = _node(nodes, (1, ub), (total,), inplace=True)  # clamp
            normed = _node(nodes, (used, ub), (weights_2d, total), inplace=True)  # div
            weights = _view(nodes, normed)
        if scaled:
            weights = _node(nodes, (1, used, ub), (weights,), inplace=True)
        x_rows = _view(nodes, x)
        start = len(nodes)
        if fused:
            gate_up = _node(nodes, (2 * s.n_ff, used, ub), (x_rows, top))
            gate, up = _view(nodes, gate_up), _view(nodes, gate_up)
        else:
            gate = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
            up = _node(nodes, (s.n_ff, used, ub), (x_rows, top))
        act = _node(nodes, (s.n_ff, used, ub), (gate, up))
        down = _node(nodes, (s.n_embd, used, ub), (act, top))
        self.expert_span = (start, len(nodes))
        weighted = _node(nodes, (s.n_embd, used, ub), (down, weights), inplace=True)
        return sum_experts(nodes, weighted, used, (s.n_embd, ub))

    def _best_groups(self, nodes: list[Node], selection: Node, n_groups: int,
                     n_used: int) -> Node:
        """DeepSeek V3's group-limited routing: each group scored by its two best experts,
        the experts outside the best groups masked out (-inf) before the top-k."""
        ub = self.shape.n_ubatch
        per_group = self.shape.n_expert // n_groups
        grouped = _view(nodes, selection)
        top_two = _view(nodes, _node(nodes, (per_group, n_groups, ub), (grouped,), dtype=I32))
        scores = _node(nodes, (1, 2, n_groups, ub), (_view(nodes, grouped), top_two))
        scores = _node(nodes, (1, n_groups, ub), (_view(nodes, scores),))  # sum_rows
        best = _view(nodes, _node(nodes, (n_groups, ub), (_view(nodes, scores),), dtype=I32))
        kept = _node(nodes, (per_group, n_used, ub), (grouped, best))  # get_rows
        filled = _node(nodes, (per_group, n_groups, ub), (grouped,), inplace=True)  # -inf
        masked = Node(0, (), False, (kept, best, filled), view_src=filled)  # set_rows
        nodes.append(masked)
        return _view(nodes, masked)

    def _mixer(self, nodes: list[Node], x: Node, positions: Node, inp: Inputs | StateInputs,
               n_kv: int) -> Node:
        """The block's token mixer: attention here; a recurrent layer in hybrids."""
        assert isinstance(inp, Inputs)
        return self._attention(nodes, x, positions, inp, n_kv)

    def layer(self, nodes: list[Node], residual: Node, positions: Node,
              inp: Inputs | StateInputs, n_kv: int, out_ids: Node | None) -> Node:
        """One block; `out_ids` is given for the last one (llama.cpp keeps only output rows)."""
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        cur = _node(nodes, ne, (residual,), inplace=True)  # rms_norm
        cur = _node(nodes, ne, (cur,), inplace=True)  # x norm weight
        cur = self._mixer(nodes, cur, positions, inp, n_kv)
        if out_ids is not None:
            cur = _node(nodes, ne, (cur, out_ids))
        if self.gemma:
            cur = _node(nodes, ne, (cur,), inplace=True)
            cur = _node(nodes, ne, (cur,), inplace=True)  # post-attention norm
        if out_ids is not None:
            residual = _node(nodes, ne, (residual, out_ids))
        ffn_inp = _node(nodes, ne, (cur, residual), inplace=True)
        cur = _node(nodes, ne, (ffn_inp,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True)  # ffn norm
        cur = self._feed_forward(nodes, cur)
        if self.gemma:
            cur = _node(nodes, ne, (cur,), inplace=True)
            cur = _node(nodes, ne, (cur,), inplace=True)  # post-ffn norm
        return _node(nodes, ne, (cur, ffn_inp), inplace=True)

    def output(self, nodes: list[Node], residual: Node) -> None:
        s = self.shape
        ne = (s.n_embd, s.n_ubatch)
        cur = _node(nodes, ne, (residual,), inplace=True)
        cur = _node(nodes, ne, (cur,), inplace=True, output=True)  # result_norm
        _node(nodes, (s.n_vocab, s.n_ubatch), (cur,), output=True)  # logits
