"""The architecture facts a memory plan needs, read from a GGUF header.

`ModelShape` is everything the plan uses about a model: per-layer attention
shapes (for the KV cache), sliding windows, MLA, recurrent state, vocabulary and
width (for the compute and output buffers) and the exact weight bytes per layer
(for placement). It is read once from a header (`shape_from_header`) or, for a
catalog entry without a header, estimated from plain facts
(`picker.memory.estimate.shape_from_facts`).
"""

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple, Protocol

from picker.memory.moe_offload import BLOCK_PATTERN, expert_bytes_by_layer

if TYPE_CHECKING:  # picker.gguf is not imported on the ranking's path
    from picker.gguf.model import MetadataValue

    # A metadata value as the header has it, or the same given as a Python sequence.
    RawValue = MetadataValue | Sequence[MetadataValue] | None

# Layers llama.cpp builds as sliding-window when a GGUF has a window but no
# explicit pattern: (every n-th layer is full attention, dense layer first?).
# From each architecture's load_swa_pattern() call in llama.cpp.
SWA_DEFAULT_PATTERNS: dict[str, tuple[int, bool]] = {
    "gemma2": (2, False), "gemma3": (6, False), "gemma3n": (5, False),
    "gemma-embedding": (6, False), "cohere2": (4, False), "cohere2moe": (4, True),
    "llama4": (4, False), "gpt-oss": (2, False), "olmo2": (4, False), "exaone4": (4, False),
    "exaone-moe": (4, False), "afmoe": (4, False), "plamo3": (8, False),
    "smallthinker": (4, True), "mellum": (4, False), "muse-glimmer": (4, False),
    "laguna": (4, True),
    # step35 reads an explicit pattern; a catalog row's period follows its config's
    # layer_types (full attention first, then three sliding blocks)
    "step35": (4, True),
    # mimo2 reads an explicit pattern too; a catalog row's period of 6 follows MiMo-V2-Flash /
    # V2.5's hybrid_layer_pattern: five sliding blocks then a full one, and the first full
    "mimo2": (6, False),
}
# Periods whose first layer attends in full besides the period's own (see mimo2 above).
SWA_FIRST_LAYER_FULL = frozenset({"mimo2"})
# Windows llama.cpp assumes when the header has none (phi3's window is ignored: its SWA is
# disabled in llama.cpp; llama4 attends in chunks of 8192 unless the header's window is 0,
# and converted Llama 4 files carry none).
SWA_DEFAULT_WINDOWS: dict[str, int] = {"gemma2": 4096, "llama4": 8192}
RECURRENT_ARCHITECTURES = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})
HYBRID_ARCHITECTURES = frozenset({
    "jamba", "falcon-h1", "plamo2", "granitehybrid", "lfm2", "lfm2moe", "nemotron_h",
    "nemotron_h_moe", "qwen3next", "qwen35", "qwen35moe", "kimi-linear", "kimi-k3", "bailingmoe3",
    "minimax-01",
    "qwen4exp", "glm5-next",
})
# Architectures whose blocks run `num_loops` times over shared weights (llama.cpp's
# nanbeige: Nanbeige 4.2; layers[i + j * n_phys] = layers[i], each pass its own KV slots).
LOOPED_ARCHITECTURES = frozenset({"nanbeige"})
# Tensors llama.cpp keeps with the input layer (always on the CPU).
_INPUT_TENSOR_PREFIXES = ("token_embd", "token_types", "position_embd", "per_layer_token_embd")


class TensorLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def n_bytes(self) -> int: ...
    @property
    def shape(self) -> tuple[int, ...]: ...


class HeaderLike(Protocol):
    """What `picker.gguf.GGUFHeader` offers that the plan reads."""

    @property
    def metadata(self) -> Mapping[str, "MetadataValue"]: ...
    @property
    def tensors(self) -> Sequence[TensorLike]: ...
    @property
    def architecture(self) -> str | None: ...
    @property
    def file_size_bytes(self) -> int | None: ...


class _ShapeFields(NamedTuple):
    """Architecture facts for the memory plan. Per-layer tuples have `n_layer` entries."""

    architecture: str
    n_layer: int
    n_embd: int
    n_vocab: int
    n_ctx_train: int
    n_head: tuple[int, ...]
    n_head_kv: tuple[int, ...]  # 0: a layer without attention (recurrent, or no KV)
    key_length: int
    value_length: int
    n_ff: tuple[int, ...]
    key_length_swa: int = 0  # 0: same as key_length
    value_length_swa: int = 0
    n_swa: int = 0  # sliding window in tokens; 0: none
    swa_layers: tuple[bool, ...] = ()  # True: the layer uses the sliding window
    is_mla: bool = False  # K-only latent cache (DeepSeek V2/V3, Kimi K2)
    kv_lora_rank: int = 0
    # MLA's per-head sizes (the graph needs them): (q_lora_rank, key_length_mla,
    # value_length_mla); () where they are unknown
    mla: tuple[int, ...] = ()
    n_rot: int = 0
    recurrent_layers: tuple[bool, ...] = ()
    recurrent_r_floats: int = 0  # per recurrent layer and sequence (conv / token-shift state)
    recurrent_s_floats: int = 0  # per recurrent layer and sequence (SSM / WKV state)
    # more state in some layers, per sequence (qwen4exp: the n-gram embedding's convolution
    # history, a row of its own in the one PLE block); () for none
    recurrent_extra_floats: tuple[int, ...] = ()
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_expert: int = 0  # width of one routed expert; 0: n_ff / n_expert_used (llama.cpp's default)
    n_ff_shared: int = 0  # total width of the shared experts (0: none)
    n_layer_dense_lead: int = 0  # leading blocks with a dense FFN instead of experts
    n_layer_nextn: int = 0  # trailing MTP/nextn blocks: no KV, weights skipped unless MTP loads
    nextn_weight_bytes: int = 0  # their tensors (not in layer_weight_bytes); 0: unknown
    n_embd_per_layer: int = 0  # Gemma per-layer embedding width (0: none)
    # DSA (glm-dsa): the lightning indexer's (heads, key length, top-k); its keys take one
    # K-only row of that length per cell, in a cache of their own, in the layers marked True
    indexer: tuple[int, ...] = ()
    indexer_layers: tuple[bool, ...] = ()
    # DeepSeek V4 (deepseek4): each block's KV compression ratio (0: its K-only sliding
    # window alone; 4: also a compressed cache and the indexer's; 128: a compressed cache)
    compress_ratios: tuple[int, ...] = ()
    # Gated delta net (qwen35, qwen35moe, qwen3next): (conv kernel, key heads, value heads,
    # key head size, value head size); () for other models or a layout the replay lacks
    delta_net: tuple[int, ...] = ()
    # MoE routing of glm4moe / deepseek2 (their GGUFs say): (sigmoid router, weights
    # normalised, weights scaled, a selection bias), each 0 or 1; () elsewhere
    moe_routing: tuple[int, ...] = ()
    n_expert_groups: int = 0  # >1: experts chosen within the best groups (DeepSeek V3)
    n_expert_groups_used: int = 0
    expert_down_scale: bool = False  # each expert's output scaled (ffn_down_exps.scale)
    fused_gate_up: bool = False  # one gate_up_exps matmul instead of gate and up
    fused_qkv: bool = False  # one attn_qkv matmul instead of Q, K and V (mimo2's replay)
    attn_value_scale: bool = False  # the attention output scaled (mimo2: value_scale)
    tied_embeddings: bool = False
    layer_weight_bytes: tuple[int, ...] = ()
    layer_expert_bytes: tuple[int, ...] = ()  # of those, routed experts (ffn_*_exps); (): unknown
    input_weight_bytes: int = 0  # token embeddings: always on the CPU
    output_weight_bytes: int = 0  # output norm + output matrix (not counting a tied copy)
    file_size_bytes: int = 0
    estimated: bool = False  # True: weights and facts estimated, not read from a header
    estimate_note: str = ""


# ModelShape's cached values that depend on the architecture facts only, never on weights.
_ARCHITECTURE_ONLY = frozenset({"attention_layers", "head_lengths", "max_ff", "cache_kinds",
                                "attention_widths", "heads_by_cache", "_kv_per_cell"})


class ModelShape(_ShapeFields):
    """The facts (`_ShapeFields`) and what the plan derives from them, computed once per
    shape: a NamedTuple subclass without __slots__, so cached_property has a __dict__."""

    def is_swa(self, layer: int) -> bool:
        return bool(self.swa_layers) and self.swa_layers[layer]

    def is_recurrent(self, layer: int) -> bool:
        return bool(self.recurrent_layers) and self.recurrent_layers[layer]

    def head_dims(self, layer: int) -> tuple[int, int]:
        """(key_length, value_length) of one layer, honouring SWA-specific lengths."""
        if self.is_swa(layer):
            return (self.key_length_swa or self.key_length, self.value_length_swa or self.value_length)
        return self.key_length, self.value_length

    @cached_property
    def attention_layers(self) -> tuple[tuple[int, int, int, int, bool], ...]:
        """(layer, n_head_kv, key_length, value_length, sliding) of every layer with a KV
        cache; computed once, since the solver plans the same shape many times."""
        return tuple(
            (il, self.n_head_kv[il], *self.head_dims(il), self.is_swa(il))
            for il in range(self.n_layer) if self.n_head_kv[il] > 0
        )

    @cached_property
    def head_lengths(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Distinct key and value lengths of the layers with a KV cache."""
        return (tuple(sorted({layer[2] for layer in self.attention_layers})),
                tuple(sorted({layer[3] for layer in self.attention_layers})))

    @cached_property
    def max_ff(self) -> int:
        return max(self.n_ff, default=0)

    @property
    def ffn_width(self) -> int:
        """Feed-forward activations per token of the widest block: a dense FFN's n_ff, or
        the routed experts used per token (each `expert_feed_forward_length` wide; Mixtral
        GGUFs give it as n_ff) plus the shared experts, whichever is wider."""
        if not self.n_expert:
            return self.max_ff
        routed = (self.n_ff_expert or self.max_ff) * max(self.n_expert_used, 1)
        moe = routed + self.n_ff_shared
        dense = self.max_ff if self.n_layer_dense_lead or self.architecture == "gemma4" else 0
        return max(moe, dense)

    @property
    def n_layer_main(self) -> int:
        """Blocks the main graph runs (MTP/nextn blocks are loaded apart)."""
        return self.n_layer - self.n_layer_nextn

    @cached_property
    def cache_kinds(self) -> tuple[bool, bool]:
        """(has full-attention layers, has sliding-window layers): llama.cpp's two caches."""
        return (any(not layer[4] for layer in self.attention_layers),
                any(layer[4] for layer in self.attention_layers))

    @cached_property
    def attention_widths(self) -> tuple[int, int, int]:
        """Largest n_head, n_head x key_length and n_head_kv x value_length of any layer."""
        heads = q_width = v_width = 0
        for il, n_head_kv, key_length, value_length, _ in self.attention_layers:
            heads = max(heads, self.n_head[il])
            q_width = max(q_width, self.n_head[il] * key_length)
            v_width = max(v_width, n_head_kv * value_length)
        return heads, q_width, v_width

    @cached_property
    def heads_by_cache(self) -> tuple[int, int]:
        """Most query heads of a full-attention layer and of a sliding one: each attends to
        its own cache, whose sizes differ (Step 3.5: 64 heads over the whole context, 96
        over the window)."""
        full = sliding = 0
        for il, _, _, _, swa in self.attention_layers:
            if swa:
                sliding = max(sliding, self.n_head[il])
            else:
                full = max(full, self.n_head[il])
        return full, sliding

    def kv_bytes_per_cell(self, type_k: str, type_v: str,
                          v_transposed: bool) -> tuple[tuple[int, bool], ...]:
        """(bytes per cell, sliding) of each layer (0 without a cache), for one cache type
        pair; llama.cpp pads a transposed V cache to the widest layer."""
        from picker.memory.settings import row_bytes

        key = (type_k, type_v, v_transposed)
        cache: dict[tuple[str, str, bool], tuple[tuple[int, bool], ...]] = \
            self.__dict__.setdefault("_kv_per_cell", {})
        if key not in cache:
            per_layer = [(0, False)] * self.n_layer
            v_width_max = self.attention_widths[2]
            for il, n_head_kv, key_length, value_length, sliding in self.attention_layers:
                size = row_bytes(type_k, n_head_kv * key_length)
                if not self.is_mla and not self.compress_ratios:  # (V4: K is V)
                    width = v_width_max if v_transposed else n_head_kv * value_length
                    size += row_bytes(type_v, width)
                if self.indexer_layers and self.indexer_layers[il]:
                    size += row_bytes(type_k, self.indexer[1])
                    if self.architecture in MSA_ARCHITECTURES:  # a plain cache: V rows too
                        size += row_bytes(type_v, value_length)
                per_layer[il] = (size, sliding)
            cache[key] = tuple(per_layer)
        return cache[key]

    def with_weights(self, layer_weight_bytes: tuple[int, ...], input_weight_bytes: int,
                     output_weight_bytes: int, file_size_bytes: int) -> "ModelShape":
        """The same architecture with another file's weights (another quantization). What
        was derived from the architecture alone is carried over, not worked out again: the
        ranking plans several quants of each model."""
        shape = self._replace(layer_weight_bytes=layer_weight_bytes, layer_expert_bytes=(),
                              input_weight_bytes=input_weight_bytes,
                              output_weight_bytes=output_weight_bytes,
                              file_size_bytes=file_size_bytes)
        shape.__dict__.update((name, value) for name, value in self.__dict__.items()
                              if name in _ARCHITECTURE_ONLY)
        return shape

    @property
    def weights_bytes(self) -> int:
        return sum(self.layer_weight_bytes) + self.input_weight_bytes + self.output_weight_bytes

    @property
    def tied_copy_bytes(self) -> int:
        """Bytes of the output matrix copy llama.cpp makes on the GPU for tied embeddings."""
        return self.input_weight_bytes if self.tied_embeddings else 0


def _array_values(value: "RawValue") -> "list[MetadataValue] | None":
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return None
    values = getattr(value, "values", None)  # a GGUFArray: None when too long to keep
    return list(values) if values is not None else None


def _number(value: object) -> int | None:
    """A scalar as an int; None for an array or nothing."""
    return int(value) if isinstance(value, bool | int | float | str) else None


def _per_layer(value: "RawValue", n_layer: int, default: int) -> tuple[int, ...]:
    """A key that is either one number for all layers or an array with one per layer."""
    if value is None:
        return (default,) * n_layer
    values = _array_values(value)
    if values is None:
        number = _number(value)
        return (default if number is None else number,) * n_layer
    if not values:
        return (default,) * n_layer
    padded = [default if (number := _number(v)) is None else number for v in values[:n_layer]]
    return tuple(padded + [padded[-1]] * (n_layer - len(padded)))


def _int(value: "RawValue", default: int = 0) -> int:
    number = _number(value)
    return default if number is None else number


def swa_layer_pattern(
    architecture: str, n_layer: int, n_swa: int, pattern: "RawValue"
) -> tuple[bool, ...]:
    """Which layers slide, as llama.cpp decides: an explicit bool array, a period, or the default."""
    if n_swa <= 0:
        return (False,) * n_layer
    explicit = _array_values(pattern)
    if explicit:
        flags = [bool(v) for v in explicit[:n_layer]]
        return tuple(flags + [False] * (n_layer - len(flags)))
    period, dense_first = SWA_DEFAULT_PATTERNS.get(architecture, (0, False))
    number = _number(pattern)
    if number is not None:
        period = number
    if architecture not in SWA_DEFAULT_PATTERNS and pattern is None:
        return (False,) * n_layer  # llama.cpp ignores a window it has no pattern for
    if dense_first:
        return tuple(period == 0 or il % period != 0 for il in range(n_layer))
    sliding = tuple(period == 0 or il % period < period - 1 for il in range(n_layer))
    if architecture in SWA_FIRST_LAYER_FULL and sliding:
        return (False, *sliding[1:])
    return sliding


def _weights_by_layer(tensors: Sequence[TensorLike], n_layer: int) -> tuple[list[int], int, int, bool]:
    layers = [0] * n_layer
    input_bytes = output_bytes = 0
    has_output = False
    match_block = re.compile(BLOCK_PATTERN).match
    for tensor in tensors:
        name = tensor.name
        block = match_block(name)
        if block is not None:
            index = int(block.group(1))
            if index < n_layer:
                layers[index] += tensor.n_bytes
            else:  # extra blocks (e.g. next-token-prediction heads) load with the output
                output_bytes += tensor.n_bytes
        elif name.startswith(_INPUT_TENSOR_PREFIXES):
            input_bytes += tensor.n_bytes
        else:
            output_bytes += tensor.n_bytes
            has_output = has_output or name == "output.weight"
    return layers, input_bytes, output_bytes, has_output


def _vocab_size(metadata: Mapping[str, "MetadataValue"], arch: str, tensors: Sequence[TensorLike]) -> int:
    explicit = _int(metadata.get(f"{arch}.vocab_size"))
    if explicit:
        return explicit
    tokens = metadata.get("tokenizer.ggml.tokens")
    length = getattr(tokens, "length", None)
    if length:
        return int(length)
    for tensor in tensors:
        if tensor.name == "token_embd.weight" and len(tensor.shape) >= 2:
            return int(tensor.shape[1])
    return 0


# Hybrids whose recurrent layers llama.cpp marks by `attention.recurrent_layers` or, failing
# that, `full_attention_interval` (default 4: every 4th layer is full attention).
_INTERVAL_HYBRIDS = frozenset({"qwen3next", "qwen35", "qwen35moe", "qwen4exp"})


def _recurrent_layers(metadata: Mapping[str, "MetadataValue"], arch: str, n_layer: int, n_nextn: int,
                      n_head_kv: tuple[int, ...]) -> tuple[bool, ...]:
    """Which blocks hold a recurrent state instead of a KV cache (never a nextn block)."""
    n_main = n_layer - n_nextn
    if arch in RECURRENT_ARCHITECTURES:
        return tuple(il < n_main for il in range(n_layer))
    if arch in _INTERVAL_HYBRIDS:
        explicit = _array_values(metadata.get(f"{arch}.attention.recurrent_layers"))
        if explicit:
            flags = [bool(v) for v in explicit[:n_layer]]
            flags += [False] * (n_layer - len(flags))
            return tuple(flag and il < n_main for il, flag in enumerate(flags))
        interval = _int(metadata.get(f"{arch}.full_attention_interval"), 4) or 4
        return tuple(il < n_main and (il + 1) % interval != 0 for il in range(n_layer))
    if arch in ("nemotron_h", "nemotron_h_moe"):
        # Nemotron-H's FFN / MoE blocks have neither KV heads nor a state: llama.cpp marks a
        # block recurrent only without KV heads and without an FFN width
        n_ff = _per_layer(metadata.get(f"{arch}.feed_forward_length"), n_layer, 0)
        return tuple(il < n_main and n_head_kv[il] == 0 and n_ff[il] == 0
                     for il in range(n_layer))
    if arch in HYBRID_ARCHITECTURES:
        return tuple(il < n_main and n_head_kv[il] == 0 for il in range(n_layer))
    return (False,) * n_layer


def _recurrent_state(metadata: Mapping[str, "MetadataValue"], arch: str, n_embd: int) -> tuple[int, int]:
    """Floats per layer and sequence of llama.cpp's r (conv) and s (state) tensors."""
    def key(suffix: str) -> int:
        return _int(metadata.get(f"{arch}.{suffix}"))

    wkv_head_size = key("wkv.head_size")
    if wkv_head_size:
        return key("token_shift_count") * n_embd or 2 * n_embd, n_embd * wkv_head_size
    shortconv = key("shortconv.l_cache")
    if shortconv:
        return n_embd * (shortconv - 1), 0
    kda_head = key("kda.head_dim")
    if kda_head:  # Kimi Delta Attention: Q, K and V convolutions; one state per head
        d_inner = _per_layer(metadata.get(f"{arch}.attention.head_count"), 1, 0)[0] * kda_head
        d_conv = key("ssm.conv_kernel")
        return 3 * (d_conv - 1 if d_conv > 0 else 3) * d_inner, kda_head * d_inner
    d_conv, d_inner, d_state = key("ssm.conv_kernel"), key("ssm.inner_size"), key("ssm.state_size")
    n_group = key("ssm.group_count")
    r_floats = (d_conv - 1 if d_conv > 0 else 0) * (d_inner + 2 * n_group * d_state)
    return r_floats, d_state * d_inner


def _shared_expert_width(metadata: Mapping[str, "MetadataValue"], arch: str) -> int:
    """Total shared-expert FFN width: an explicit width, or count x expert width."""
    explicit = _int(metadata.get(f"{arch}.expert_shared_feed_forward_length"))
    if explicit:
        return explicit
    count = _int(metadata.get(f"{arch}.expert_shared_count"))
    return count * _int(metadata.get(f"{arch}.expert_feed_forward_length"))


def _delta_net(metadata: Mapping[str, "MetadataValue"], arch: str, tensors: Sequence[TensorLike]
               ) -> tuple[int, ...]:
    """The gated delta net's sizes (llama.cpp's ssm_* keys), or () where there is none or
    the file is a legacy Qwen3-Next one (one fused ssm_in projection, another graph)."""
    if arch not in _INTERVAL_HYBRIDS or any(t.name.endswith(".ssm_in.weight") for t in tensors):
        return ()
    def key(suffix: str) -> int:
        return _int(metadata.get(f"{arch}.ssm.{suffix}"))
    value_heads = key("time_step_rank")
    dims = (key("conv_kernel"), key("group_count"), value_heads, key("state_size"),
            key("inner_size") // value_heads if value_heads else 0)
    return dims if all(dims) else ()


def _mla(metadata: Mapping[str, "MetadataValue"], arch: str) -> tuple[int, ...]:
    """(q_lora_rank, key_length_mla, value_length_mla) of an MLA model, or ()."""
    key_mla = _int(metadata.get(f"{arch}.attention.key_length_mla"))
    value_mla = _int(metadata.get(f"{arch}.attention.value_length_mla"))
    if not key_mla or not value_mla:
        return ()
    return _int(metadata.get(f"{arch}.attention.q_lora_rank")), key_mla, value_mla


# Routing when a catalog entry has no header: as the released GGUFs of GLM-4.5+ and
# DeepSeek-V3/R1/Kimi K2 say (sigmoid router, normalised and scaled weights, a bias);
# Mistral Small 4 (mistral4): no gating key (llama.cpp's softmax), norm_topk_prob true,
# routed_scaling_factor 1.0 (not applied); Trinity (afmoe): sigmoid (llama.cpp's default
# for it), route_norm true, route_scale 2.826 / 2.448, expert_bias.
# ERNIE 4.5 (ernie4_5-moe): its graph fixes a softmax router and normalised, unscaled
# weights; the converter keeps the moe_statics selection bias. Ling / Ring 2.0
# (bailingmoe2): sigmoid, norm_topk_prob true, routed_scaling_factor 2.5, expert_bias.
DEFAULT_MOE_ROUTING = {"ernie4_5-moe": (0, 1, 0, 1), "bailingmoe2": (1, 1, 1, 1),
                       "glm4moe": (1, 1, 0, 1), "deepseek2": (1, 1, 1, 1),
                       "mistral4": (0, 1, 0, 0), "glm-dsa": (1, 1, 1, 1),
                       "deepseek32": (1, 1, 1, 1), "afmoe": (1, 1, 1, 1)}


# Routing read from a header only (step35: sigmoid unless its GGUF says otherwise; a catalog
# row states no routing, and plans the compute buffer on the closed form)
_HEADER_ROUTING = frozenset({"step35", "mimo2"})


def _moe_routing(metadata: Mapping[str, "MetadataValue"], arch: str, n_layer: int, n_vocab: int,
                 tensors: Sequence[TensorLike]) -> tuple[int, ...]:
    """What build_moe_ffn is told for glm4moe / deepseek2 / mistral4 (their loaders'
    defaults)."""
    if arch not in DEFAULT_MOE_ROUTING and arch not in _HEADER_ROUTING:
        return ()
    gating = _int(metadata.get(f"{arch}.expert_gating_func"))
    if not gating:  # old DeepSeek V2 files say nothing: softmax (GLM 4.7 Lite, GLM-5: sigmoid)
        glm_lite = n_layer in (47, 48) and n_vocab == 154880
        gating = 2 if arch in ("glm4moe", "glm-dsa", "afmoe", "step35") or glm_lite else 1
    scale = metadata.get(f"{arch}.expert_weights_scale")
    scaled = isinstance(scale, int | float) and float(scale) not in (0.0, 1.0)
    bias = any(t.name.endswith(".exp_probs_b.bias") for t in tensors)
    if arch == "ernie4_5-moe":  # whatever its keys say (llama.cpp reads none of them)
        return 0, 1, 0, int(bias)
    return (int(gating == 2), int(bool(metadata.get(f"{arch}.expert_weights_norm"))),
            int(scaled), int(bias))


# GLM-5.2's indexer layout where its GGUF states none (llama.cpp's
# GLM_5_2_DEFAULT_INDEXER_TYPES, from the model's config): the first three blocks, then
# every fourth, compute their own top-k; the others reuse the previous one's.
def _glm_5_2_indexer(il: int) -> bool:
    return il < 2 or ((il - 2) % 4 == 0 and il < 78)


def indexer_layer_flags(n_main: int, n_layer: int, n_ctx_train: int,
                        explicit: "list[MetadataValue] | None" = None) -> tuple[bool, ...]:
    """Blocks with a DSA indexer key cache (llama_kv_cache_dsa's filter_lid): glm-dsa's
    full-indexer blocks, as `attention.indexer.types` says, else every block before
    GLM-5.2 (a trained context under 1M) and GLM-5.2's default layout after."""
    if explicit:
        flags = [bool(v) for v in explicit[:n_main]] + [False] * (n_main - len(explicit))
    elif n_ctx_train < 1048576:
        flags = [True] * n_main
    else:
        flags = [_glm_5_2_indexer(il) for il in range(n_main)]
    return tuple(flags[:n_main]) + (False,) * (n_layer - n_main)


# DeepSeek Sparse Attention over MLA (llama_kv_cache_dsa): GLM-5 (glm-dsa) and
# DeepSeek-V3.2 (deepseek32), whose every main block keeps indexer keys
SPARSE_ATTENTION_ARCHITECTURES = frozenset({"glm-dsa", "deepseek32"})


# Block-sparse attention over a per-token indexer key cache (llama_memory_hybrid_idx):
# qwen4exp (Qwen3.8-Flash-Next's QSA), one key row per cell in every attention block
BLOCK_SPARSE_ARCHITECTURES = frozenset({"qwen4exp"})
# Hybrids whose attention blocks keep a DSA indexer cache in llama_memory_hybrid_idx:
# qwen4exp, and glm5-next (GLM-5.3-Flash: its MLA blocks marked full in indexer.types,
# every one by default; with k-pooling the cell holds key, gate and pooled value, three
# key widths)
INDEXED_HYBRID_ARCHITECTURES = BLOCK_SPARSE_ARCHITECTURES | {"glm5-next"}


def _hybrid_indexer(metadata: Mapping[str, "MetadataValue"], arch: str,
                    has_kv: tuple[bool, ...]) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """(heads, cached key width per cell, top-k) and the blocks holding it, for the
    llama_memory_hybrid_idx architectures."""
    def key(suffix: str) -> int:
        return _int(metadata.get(f"{arch}.attention.indexer.{suffix}"))

    width = key("key_length") * (3 if key("kpool") > 0 else 1)
    explicit = _array_values(metadata.get(f"{arch}.attention.indexer.types")) or []
    full = [bool(v) for v in explicit] + [True] * (len(has_kv) - len(explicit))
    layers = tuple(kv and full[il] for il, kv in enumerate(has_kv))
    return (key("head_count"), width, key("top_k")), layers


# MiniMax Sparse Attention (llama_kv_cache_msa): beside the main cache, an indexer cache of
# its own in every block after the dense lead; a plain (not MLA) llama_kv_cache with one head
# whose key is the indexer's and whose value row is the main head's size
MSA_ARCHITECTURES = frozenset({"minimax-m3"})


def _ple_state_floats(metadata: Mapping[str, "MetadataValue"], arch: str, n_embd: int,
                      n_layer: int) -> tuple[int, ...]:
    """qwen4exp's n-gram embedding (PLE) blocks: their depthwise convolution's history, a
    recurrent row of (kernel - 1) x n-gram size x streams x n_embd floats per sequence
    (llama_hparams::ple_conv_state); () for a model without one."""
    layers = _array_values(metadata.get(f"{arch}.ple.layers")) or []
    kernel = _int(metadata.get(f"{arch}.ple.conv_kernel"))
    floats = ((kernel - 1) * _int(metadata.get(f"{arch}.ple.ngram_size"))
              * _int(metadata.get(f"{arch}.hyper_connection.count")) * n_embd)
    marked = {number for value in layers if (number := _number(value)) is not None}
    if arch != "qwen4exp" or kernel <= 0 or not marked or floats <= 0:
        return ()
    return tuple(floats if il in marked else 0 for il in range(n_layer))


def _indexer_layers(metadata: Mapping[str, "MetadataValue"], arch: str, n_main: int,
                    n_layer: int, n_ctx_train: int) -> tuple[bool, ...]:
    if arch not in SPARSE_ATTENTION_ARCHITECTURES:
        return ()
    if arch == "deepseek32":  # no shared-indexer layout: every main block
        return (True,) * n_main + (False,) * (n_layer - n_main)
    explicit = _array_values(metadata.get(f"{arch}.attention.indexer.types"))
    return indexer_layer_flags(n_main, n_layer, n_ctx_train, explicit)


# step35 (Step 3.5 / 3.7 Flash) skips only these tensors of its MTP blocks; the others there
# (Q/K norms, attention gate, the FFN, extra heads) are "not required", so they load
# (llama_model_step35::load_arch_tensors: TENSOR_SKIP rides on mtp_flags alone)
_STEP35_MTP_SKIPPED = re.compile(
    r"blk\.\d+\.(attn_norm|attn_q|attn_k|attn_v|attn_qkv|attn_output|ffn_norm"
    r"|nextn\.eh_proj|nextn\.enorm|nextn\.hnorm)\.")
# hy_v3 (Tencent Hy3) likewise: its MTP block's attention (with the Q/K norms), norms and
# NextN projections are skipped; the FFN, router, experts, selection bias and shared expert,
# and the optional embedding / head / final norm, load (llama_model_hy_v3::load_arch_tensors)
_MTP_SKIPPED = {"step35": _STEP35_MTP_SKIPPED, "hy_v3": re.compile(
    r"blk\.\d+\.(attn_norm|attn_q|attn_k|attn_v|attn_qkv|attn_output|attn_q_norm|attn_k_norm"
    r"|ffn_norm|nextn\.eh_proj|nextn\.enorm|nextn\.hnorm)\.")}


def _mtp_kept_bytes(tensors: Sequence[TensorLike], arch: str, n_main: int,
                    n_layer: int) -> list[int]:
    """Bytes of each MTP block that llama.cpp loads although MTP is off (step35, hy_v3)."""
    kept = [0] * (n_layer - n_main)
    skipped = _MTP_SKIPPED.get(arch)
    if skipped is None or not kept:
        return kept
    match_block = re.compile(BLOCK_PATTERN).match
    for tensor in tensors:
        block = match_block(tensor.name)
        if (block is not None and n_main <= int(block.group(1)) < n_layer
                and not skipped.match(tensor.name)):
            kept[int(block.group(1)) - n_main] += tensor.n_bytes
    return kept


def shape_from_header(header: HeaderLike) -> ModelShape:
    """Read the plan's facts from a parsed GGUF header (no tensor data needed)."""
    metadata = header.metadata
    arch = header.architecture or ""

    def key(suffix: str, default: "MetadataValue | None" = None) -> "MetadataValue | None":
        return metadata.get(f"{arch}.{suffix}", default)

    n_layer_phys = _int(key("block_count"))
    # Looped models run their blocks `num_loops` times over the same weights, each pass with
    # a KV cache of its own: llama.cpp plans the logical blocks (the physical ones repeated)
    loops = max(_int(key("num_loops"), 1), 1) if arch in LOOPED_ARCHITECTURES else 1
    n_layer = n_layer_phys * loops
    n_embd = _int(key("embedding_length"))
    n_head = _per_layer(key("attention.head_count"), n_layer_phys, 0) * loops
    n_head_kv_raw = key("attention.head_count_kv")
    n_head_kv = (n_head if n_head_kv_raw is None
                 else _per_layer(n_head_kv_raw, n_layer_phys, 0) * loops)
    head0 = n_head[0] if n_head and n_head[0] else 0
    key_length = _int(key("attention.key_length"), n_embd // head0 if head0 else 0)
    value_length = _int(key("attention.value_length"), n_embd // head0 if head0 else 0)
    n_swa = _int(key("attention.sliding_window"), SWA_DEFAULT_WINDOWS.get(arch, 0))
    layers, input_bytes, output_bytes, has_output = _weights_by_layer(header.tensors, n_layer)
    n_nextn = min(_int(key("nextn_predict_layers")), n_layer)
    n_main = n_layer - n_nextn
    kept = _mtp_kept_bytes(header.tensors, arch, n_main, n_layer)
    nextn_bytes = sum(layers[n_main:]) - sum(kept)
    for il in range(n_main, n_layer):
        layers[il] = kept[il - n_main]  # llama.cpp skips MTP tensors unless asked to load them
    recurrent_layers = _recurrent_layers(metadata, arch, n_layer, n_nextn, n_head_kv)
    r_floats, s_floats = _recurrent_state(metadata, arch, n_embd) if any(recurrent_layers) else (0, 0)
    # Gemma 4: the last `shared_kv_layers` blocks read an earlier block's cache (Gemma 3n:
    # every block from the 20th on, fixed in llama.cpp).
    kv_from_start = 20 if arch == "gemma3n" else n_layer - _int(key("attention.shared_kv_layers"))
    has_kv = tuple(il < n_main and il < kv_from_start and not recurrent_layers[il]
                   for il in range(n_layer))
    hybrid_indexer = (_hybrid_indexer(metadata, arch, has_kv)
                      if arch in INDEXED_HYBRID_ARCHITECTURES else None)
    return ModelShape(
        architecture=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=_vocab_size(metadata, arch, header.tensors),
        n_ctx_train=_int(key("context_length")),
        n_head=n_head,
        n_head_kv=tuple(n_head_kv[il] if has_kv[il] else 0 for il in range(n_layer)),
        key_length=key_length,
        value_length=value_length,
        key_length_swa=_int(key("attention.key_length_swa")),
        value_length_swa=_int(key("attention.value_length_swa")),
        n_ff=_per_layer(key("feed_forward_length"), n_layer_phys, 0) * loops,
        n_swa=n_swa,
        swa_layers=(tuple(True for _ in range(n_layer)) if arch == "deepseek4" else
                    swa_layer_pattern(arch, n_layer, n_swa,
                                      key("attention.sliding_window_pattern"))),
        is_mla=key("attention.key_length_mla") is not None,
        kv_lora_rank=_int(key("attention.kv_lora_rank")),
        mla=_mla(metadata, arch),
        n_rot=_int(key("rope.dimension_count"), key_length),
        recurrent_layers=recurrent_layers,
        recurrent_r_floats=r_floats,
        recurrent_s_floats=s_floats,
        recurrent_extra_floats=_ple_state_floats(metadata, arch, n_embd, n_layer),
        n_expert=_int(key("expert_count")),
        n_expert_used=_int(key("expert_used_count")),
        n_ff_expert=_int(key("expert_feed_forward_length")),
        n_ff_shared=_shared_expert_width(metadata, arch),
        n_layer_dense_lead=_int(key("leading_dense_block_count")),
        n_layer_nextn=n_nextn,
        nextn_weight_bytes=nextn_bytes,
        n_embd_per_layer=_int(key("embedding_length_per_layer_input")),
        indexer=hybrid_indexer[0] if hybrid_indexer else
        (_int(key("attention.indexer.head_count")),
                 _int(key("attention.indexer.key_length")),
                 _int(key("attention.indexer.top_k")))
        if arch in SPARSE_ATTENTION_ARCHITECTURES | BLOCK_SPARSE_ARCHITECTURES | MSA_ARCHITECTURES
        or arch == "deepseek4" else (),
        indexer_layers=hybrid_indexer[1] if hybrid_indexer else
        tuple(kv and il >= _int(key("leading_dense_block_count")) for il, kv in enumerate(has_kv))
        if arch in MSA_ARCHITECTURES else
        _indexer_layers(metadata, arch, n_main, n_layer, _int(key("context_length"))),
        compress_ratios=_per_layer(key("attention.compress_ratios"), n_layer, 0)
        if arch == "deepseek4" else (),
        delta_net=_delta_net(metadata, arch, header.tensors) if any(recurrent_layers) else (),
        moe_routing=_moe_routing(metadata, arch, n_main,
                                 _vocab_size(metadata, arch, header.tensors), header.tensors),
        expert_down_scale=any(t.name.endswith(".ffn_down_exps.scale") for t in header.tensors),
        fused_gate_up=any(t.name.endswith(".ffn_gate_up_exps.weight") for t in header.tensors),
        fused_qkv=any(t.name.endswith(".attn_qkv.weight") for t in header.tensors),
        attn_value_scale=isinstance(scale := key("attention.value_scale"), int | float)
        and float(scale) not in (0.0, 1.0),
        n_expert_groups=_int(key("expert_group_count")),
        n_expert_groups_used=_int(key("expert_group_used_count")),
        tied_embeddings=not has_output,
        layer_weight_bytes=tuple(layers),
        layer_expert_bytes=expert_bytes_by_layer(header.tensors, n_main) + (0,) * n_nextn,
        input_weight_bytes=input_bytes,
        output_weight_bytes=output_bytes,
        file_size_bytes=int(header.file_size_bytes or 0),
    )
