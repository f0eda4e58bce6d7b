"""A ModelShape from plain architecture facts and a file size, when no header is at hand.

For catalog entries whose GGUF header has not been fetched. KV cache and
compute come out as exact as with a header (they depend only on the facts);
the weights are estimated: the file size minus an estimate of the header (about
24 bytes per vocabulary entry: token text, score and type) is split between the
token embeddings, the output matrix and the layers in proportion to their
parameter counts (attention: Q, K, V, O; feed-forward: gate, up, down per expert;
router). Quantization mixes keep some tensors at higher precision, so the split
is an estimate, not a reading; plans built this way are marked `estimated`.
"""

from collections.abc import Sequence
from typing import NamedTuple

from picker.memory.shape import (
    DEFAULT_MOE_ROUTING,
    INDEXED_HYBRID_ARCHITECTURES,
    ModelShape,
    indexer_layer_flags,
    swa_layer_pattern,
)
from picker.namedrecord import NamedRecord

HEADER_BYTES_PER_TOKEN = 24
# SwiGLU models use about 3.5 x n_embd when a catalog entry does not say.
DEFAULT_FF_RATIO = 3.5
# qwen4exp's n-gram hash embedding as Qwen3.8-Flash-Next's GGUFs carry it (the one model of
# that architecture): per_layer_token_embd of 320,001,536 rows of 160 (51.2B parameters,
# kept with the token embeddings), feeding block 1, whose convolution history (kernel 4 - 1)
# x n-gram 3 x 4 hyper-connection streams x n_embd floats is a recurrent row of its own
QWEN4EXP_NGRAM_PARAMS = 320001536 * 160
QWEN4EXP_PLE_LAYER = 1
QWEN4EXP_PLE_STATE_PER_EMBD = 3 * 3 * 4


def _per_layer(value: int | Sequence[int], n_layer: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n_layer
    values = [int(v) for v in value][:n_layer]
    return tuple(values + [values[-1]] * (n_layer - len(values))) if values else (0,) * n_layer


# A NamedTuple, not a NamedRecord: made by keyword for every model planned, which its
# compiled __new__ does ~2x faster (picker/namedrecord.py).
class Layout(NamedTuple):
    """The 2026 layouts, as the catalog's architecture fields state them (0: no such part)."""

    n_ff_expert: int = 0  # one routed expert's width; 0: n_ff is the expert width
    n_ff_shared: int = 0  # total width of the shared experts
    n_layer_dense_lead: int = 0
    n_layer_nextn: int = 0
    full_attention_interval: int = 0  # hybrids: every N-th layer attends, the others recur
    full_attention_last_layer: int = 0  # 1: the last layer attends too (Kimi Linear)
    linear_conv_kernel: int = 0
    linear_key_heads: int = 0
    linear_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    shared_kv_layers: int = 0
    n_embd_per_layer: int = 0
    head_dim_swa: int = 0  # key and value width of sliding-window layers (Gemma 4); 0: same
    n_head_kv_swa: int = 0  # KV heads of sliding-window layers (Gemma 4 26B/31B); 0: same
    indexer_key_length: int = 0  # DSA (glm-dsa): the lightning indexer's key width; 0: none
    indexer_top_k: int = 0  # DSA: cells the indexer keeps per token
    csa_layers: int = 0  # DeepSeek V4: blocks compressing their KV 4:1 (with the indexer)
    hca_layers: int = 0  # DeepSeek V4: blocks compressing it 128:1
    # Nemotron-H hybrids: of the blocks, how many attend (KV cache, no FFN) and how many are
    # Mamba-2 (a state, no FFN); the others are FFN / MoE blocks without either
    attention_layers: int = 0
    mamba_layers: int = 0

    def block_kinds(self, n_main: int) -> str:
        """Nemotron-H's blocks as its hybrid_override_pattern writes them ('*' attention, 'M'
        Mamba-2, 'E' feed-forward), from the counts: attention spread evenly, Mamba-2 and FFN
        alternating between (the real order moves only which device holds a block)."""
        if not self.attention_layers and not self.mamba_layers:
            return ""
        attending = {(2 * k + 1) * n_main // (2 * self.attention_layers)
                     for k in range(self.attention_layers)} if self.attention_layers else set()
        kinds, mamba = [], self.mamba_layers
        for il in range(n_main):
            if il in attending:
                kinds.append("*")
            elif mamba and (not kinds or kinds[-1] != "M" or mamba >= n_main - il):
                kinds.append("M")
                mamba -= 1
            else:
                kinds.append("E")
        return "".join(kinds)

    def compress_ratios(self, n_main: int, n_layer: int) -> tuple[int, ...]:
        """DeepSeek V4's per-block compression ratios from the counts: window-only blocks
        first, then ratio 4 and 128 alternating (V4-Flash's published order; a count's
        position changes only which device holds it)."""
        if not self.csa_layers and not self.hca_layers:
            return ()
        csa, hca = self.csa_layers, self.hca_layers
        ratios = [0] * max(n_main - csa - hca, 0)
        while len(ratios) < n_main:
            take_csa = csa > 0 and (hca == 0 or not ratios or ratios[-1] != 4)
            ratios.append(4 if take_csa else 128)
            csa, hca = (csa - 1, hca) if take_csa else (csa, hca - 1)
        return tuple(ratios) + (0,) * (n_layer - n_main)

    @property
    def delta_net(self) -> tuple[int, ...]:
        """ModelShape.delta_net: (conv kernel, key heads, value heads, head sizes)."""
        dims = (self.linear_conv_kernel, self.linear_key_heads, self.linear_value_heads,
                self.linear_key_head_dim, self.linear_value_head_dim)
        return dims if all(dims) else ()

    def recurrent(self, il: int, n_layer: int) -> bool:
        kinds = self.block_kinds(n_layer)
        if kinds:
            return il < n_layer and kinds[il] == "M"
        interval = self.full_attention_interval
        last = bool(self.full_attention_last_layer) and il == n_layer - 1
        return bool(interval) and il < n_layer and (il + 1) % interval != 0 and not last

    @property
    def state_floats(self) -> tuple[int, int]:
        """llama.cpp's (conv, delta-net) state per recurrent layer and sequence, in floats."""
        key_dim = self.linear_key_heads * self.linear_key_head_dim
        value_dim = self.linear_value_heads * self.linear_value_head_dim
        conv = max(self.linear_conv_kernel - 1, 0) * (value_dim + 2 * key_dim)
        return conv, self.linear_key_head_dim * value_dim


class _Template(NamedRecord):
    """What one architecture's shapes share, whatever the file: the shape (built for the
    first file seen) and the parameter counts the weights are split by."""

    shape: ModelShape
    layer_params: tuple[int, ...]
    embedding_params: int
    output_params: int
    total_params: int
    uniform: bool  # every layer the same size (the usual stack): one weight figure for all


# One template per architecture (the ranking asks for several quants of each catalog model).
_TEMPLATES: dict[tuple[object, ...], _Template] = {}
_TEMPLATE_LIMIT = 1024


def shape_from_facts(
    *,
    architecture: str,
    n_layer: int,
    n_embd: int,
    n_head: int,
    n_head_kv: int | Sequence[int],
    n_vocab: int,
    n_ctx_train: int,
    file_size_bytes: int,
    key_length: int | None = None,
    value_length: int | None = None,
    n_ff: int | None = None,
    sliding_window: int = 0,
    sliding_window_pattern: int | Sequence[bool] | None = None,
    n_expert: int = 0,
    n_expert_used: int = 0,
    tied_embeddings: bool = False,
    kv_lora_rank: int = 0,
    rope_dim: int = 0,
    layout: Layout | None = None,
) -> ModelShape:
    """Facts as a catalog states them (per-head key/value lengths; for MLA models also
    kv_lora_rank and the rope dimensions; `layout` for MoE widths, hybrids, MTP blocks and
    shared KV layers), plus the GGUF file's total size in bytes. `n_layer` counts the
    main blocks; MTP blocks come on top, as in a GGUF's block_count."""
    layout = layout or Layout()
    facts = (architecture, n_layer, n_embd, n_head,
             n_head_kv if isinstance(n_head_kv, int) else tuple(n_head_kv), n_vocab, n_ctx_train,
             key_length, value_length, n_ff, sliding_window,
             sliding_window_pattern if sliding_window_pattern is None
             or isinstance(sliding_window_pattern, int) else tuple(sliding_window_pattern),
             n_expert, n_expert_used, tied_embeddings, kv_lora_rank, rope_dim, layout)
    template = _TEMPLATES.get(facts)
    if template is None:
        template = _template(*facts)
        if len(_TEMPLATES) >= _TEMPLATE_LIMIT:
            _TEMPLATES.clear()
        _TEMPLATES[facts] = template
    weight_bytes = max(0, file_size_bytes - HEADER_BYTES_PER_TOKEN * n_vocab)
    per_param = weight_bytes / template.total_params if template.total_params else 0.0
    if template.uniform:
        layer_weight_bytes = (round(template.layer_params[0] * per_param),) * n_layer
    else:  # MTP blocks take their share of the file, then load nothing (llama.cpp skips them)
        layer_weight_bytes = tuple(0 if il >= n_layer else round(params * per_param)
                                   for il, params in enumerate(template.layer_params))
    return template.shape.with_weights(
        layer_weight_bytes=layer_weight_bytes,
        input_weight_bytes=round(template.embedding_params * per_param),
        output_weight_bytes=round(template.output_params * per_param),
        file_size_bytes=file_size_bytes)


def _template(architecture: str, n_layer: int, n_embd: int, n_head: int,
              n_head_kv: int | Sequence[int], n_vocab: int, n_ctx_train: int,
              key_length: int | None, value_length: int | None, n_ff: int | None,
              sliding_window: int, sliding_window_pattern: int | Sequence[bool] | None,
              n_expert: int, n_expert_used: int, tied_embeddings: bool, kv_lora_rank: int,
              rope_dim: int, layout: Layout) -> _Template:
    head_dim = n_embd // n_head if n_head else 0
    key = key_length or head_dim
    value = value_length or head_dim
    ff = n_ff or int(DEFAULT_FF_RATIO * n_embd)
    n_main = n_layer
    n_layer = n_main + layout.n_layer_nextn  # MTP blocks count, as in block_count
    recurrent = tuple(layout.recurrent(il, n_main) for il in range(n_layer))
    kv_from_start = n_main - layout.shared_kv_layers
    compress_ratios = layout.compress_ratios(n_main, n_layer)
    swa_layers = swa_layer_pattern(architecture, n_layer, sliding_window,
                                   None if sliding_window_pattern is None
                                   else _pattern(sliding_window_pattern))
    if compress_ratios:  # DeepSeek V4: every block keeps a K-only sliding window
        swa_layers = (True,) * n_layer
    # Gemma 4 26B/31B: the sliding layers have more KV heads than the global ones
    heads_by_layer = tuple(layout.n_head_kv_swa if layout.n_head_kv_swa and swa_layers[il]
                           else heads for il, heads in enumerate(_per_layer(n_head_kv, n_layer)))
    kinds = layout.block_kinds(n_main)  # Nemotron-H: only '*' blocks attend
    kv_heads = tuple(heads if il < kv_from_start and not recurrent[il]
                     and (not kinds or il >= n_main or kinds[il] == "*") else 0
                     for il, heads in enumerate(heads_by_layer))
    is_mla = kv_lora_rank > 0
    key_dim = layout.linear_key_heads * layout.linear_key_head_dim
    value_dim = layout.linear_value_heads * layout.linear_value_head_dim
    attention = [n_embd * n_head * key + n_embd * heads * (key + value) + n_head * value * n_embd
                 for heads in heads_by_layer]
    delta_net = n_embd * (2 * key_dim + 2 * value_dim) + value_dim * n_embd
    expert_ff = layout.n_ff_expert or ff
    moe = (3 * n_embd * (expert_ff * n_expert + layout.n_ff_shared) + n_embd * n_expert
           if n_expert else 0)
    dense = 3 * n_embd * ff
    ffn = [dense if not n_expert or il < layout.n_layer_dense_lead
           else moe + (dense if layout.n_ff_expert and architecture == "gemma4" else 0)
           for il in range(n_layer)]
    if kinds:  # Nemotron-H: a block is Mamba-2, attention or FFN, never two of them
        ffn = [0 if il < n_main and kinds[il] != "E" else ffn[il] for il in range(n_layer)]
        attention = [0 if il < n_main and kinds[il] == "E" else attention[il]
                     for il in range(n_layer)]
    layer_params = tuple((delta_net if recurrent[il] else attention[il]) + ffn[il]
                         for il in range(n_layer))
    embedding_params = n_vocab * (n_embd + layout.n_embd_per_layer * n_main)
    extra_state: tuple[int, ...] = ()
    if architecture == "qwen4exp":
        embedding_params += QWEN4EXP_NGRAM_PARAMS
        extra_state = tuple(QWEN4EXP_PLE_STATE_PER_EMBD * n_embd
                            if il == QWEN4EXP_PLE_LAYER else 0 for il in range(n_layer))
    output_params = 0 if tied_embeddings else n_vocab * n_embd
    if is_mla:  # llama.cpp's MLA cache: one latent "head" of kv_lora_rank + rope dims
        kv_heads = tuple(1 if heads else 0 for heads in kv_heads)
        key, value = kv_lora_rank + rope_dim, kv_lora_rank
        if architecture == "kimi-linear":  # its converter writes config head_dim (hidden /
            value = head_dim  # heads) as value_length: llama.cpp checks a quantized V cache on it
    r_floats, s_floats = layout.state_floats if any(recurrent) else (0, 0)
    shape = ModelShape(
        architecture=architecture, n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_ctx_train=n_ctx_train, n_head=(n_head,) * n_layer, n_head_kv=kv_heads,
        key_length=key, value_length=value, n_ff=(ff,) * n_layer,
        key_length_swa=layout.head_dim_swa, value_length_swa=layout.head_dim_swa,
        n_swa=sliding_window,
        swa_layers=swa_layers,
        is_mla=is_mla, kv_lora_rank=kv_lora_rank, n_rot=rope_dim or key,
        recurrent_layers=recurrent if any(recurrent) else (),
        recurrent_r_floats=r_floats, recurrent_s_floats=s_floats,
        recurrent_extra_floats=extra_state,
        n_expert=n_expert, n_expert_used=n_expert_used, n_ff_expert=layout.n_ff_expert,
        n_ff_shared=layout.n_ff_shared, n_layer_dense_lead=layout.n_layer_dense_lead,
        n_layer_nextn=layout.n_layer_nextn, n_embd_per_layer=layout.n_embd_per_layer,
        # DSA: the indexer's key cache in its blocks (the heads are not needed without MLA's
        # per-head sizes: the closed form, not the replay, plans the compute buffer)
        # (glm5-next's k-pooled indexer caches key, gate and pooled value per cell: its
        # loader requires kpool > 1)
        indexer=(0, layout.indexer_key_length * (3 if architecture == "glm5-next" else 1),
                 layout.indexer_top_k)
        if layout.indexer_key_length else (),
        # (qwen4exp's QSA, glm5-next's DSA: a key per cell in their attention blocks only)
        indexer_layers=(tuple(heads > 0 for heads in kv_heads)
                        if architecture in INDEXED_HYBRID_ARCHITECTURES else
                        indexer_layer_flags(n_main, n_layer, n_ctx_train))
        if layout.indexer_key_length and not compress_ratios else (),
        compress_ratios=compress_ratios,
        delta_net=layout.delta_net if any(recurrent) else (),
        moe_routing=DEFAULT_MOE_ROUTING.get(architecture, ()) if n_expert else (),
        # Gemma 4's converter writes the router's per-expert scale as ffn_down_exps.scale
        expert_down_scale=architecture == "gemma4" and n_expert > 0,
        tied_embeddings=tied_embeddings,
        estimated=True, estimate_note="weights split from the file size by parameter counts",
    )
    # Worked out once here, then shared by every quant's shape (see ModelShape.with_weights);
    # the KV sizes per cache type are filled in as plans ask, into one shared dict.
    _ = shape.attention_layers, shape.head_lengths, shape.max_ff, shape.cache_kinds
    _ = shape.attention_widths
    shape.__dict__["_kv_per_cell"] = {}
    total_params = sum(layer_params) + embedding_params + output_params
    uniform = (bool(layer_params) and not layout.n_layer_nextn
               and layer_params.count(layer_params[0]) == len(layer_params))
    return _Template(shape, layer_params, embedding_params, output_params, total_params, uniform)


def _pattern(pattern: int | Sequence[bool]) -> int | list[bool]:
    return pattern if isinstance(pattern, int) else [bool(flag) for flag in pattern]
