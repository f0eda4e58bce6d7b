"""KV cache and recurrent state, per layer, exactly as llama.cpp sizes them.

Follows llama_kv_cache / llama_kv_cache_iswa / llama_memory_recurrent in the
llama.cpp that llama-cpp-python 0.3.36 vendors: cells are the padded context;
sliding-window layers get their own, smaller cache unless swa_full; MLA models
keep one K-only latent row per cell; with flash attention off V is stored
transposed and padded to the widest layer; recurrent layers hold a fixed f32
state per sequence.
"""

from typing import NamedTuple

from picker.llama_settings import LlamaSettings
from picker.memory.compute import AttentionCaches
from picker.memory.settings import Effective, pad_to, row_bytes
from picker.memory.shape import ModelShape


class CacheLayout(NamedTuple):
    caches: AttentionCaches
    layer_bytes: tuple[int, ...]  # KV cache + recurrent state of each layer
    kv_bytes: int
    recurrent_bytes: int


def _streams(settings: LlamaSettings) -> int:
    """KV streams: one per sequence, or one all share with kv_unified."""
    return 1 if settings.kv_unified else settings.n_seq_max


def swa_cells(shape: ModelShape, settings: LlamaSettings, eff: Effective) -> int:
    """Cells per stream of the sliding-window cache (llama_kv_cache_iswa: a unified stream
    holds every sequence's window)."""
    per_stream = eff.n_ctx // _streams(settings)
    if settings.swa_full:
        return per_stream
    windows = settings.n_seq_max if settings.kv_unified else 1
    return pad_to(min(per_stream, shape.n_swa * windows + eff.n_ubatch), 256)


# DeepSeek V4's compressors (llama_dsv4_comp_state): per block and sequence, an f32 kv and an
# f32 score plane of (rows, width multiple of the head) for each compression ratio.
_DSV4_STATE = {4: (8, 2), 128: (128, 1)}


def _dsv4_compressed(shape: ModelShape, settings: LlamaSettings, eff: Effective,
                     layer_bytes: list[int]) -> int:
    """llama_kv_cache_dsv4 beyond the K-only window: each ratio-4 block's compressed keys and
    its indexer's (ceil(n_ctx / 4) cells padded to 256), each ratio-128 block's (ceil(n_ctx /
    128)), added to `layer_bytes`; returns the compressors' state, one per sequence (never a
    unified stream)."""
    n_stream = settings.n_seq_max
    kv_size = eff.n_ctx // _streams(settings)
    head, index_head = shape.key_length, shape.indexer[1] if shape.indexer else 0
    state_total = 0
    for il, ratio in enumerate(shape.compress_ratios):
        if ratio not in _DSV4_STATE:
            continue
        cells = pad_to(max(1, -(-kv_size // ratio)), 256)
        size = row_bytes(settings.type_k, head) * cells
        rows, width = _DSV4_STATE[ratio]
        state = 2 * rows * width * head * 4
        if ratio == 4:
            size += row_bytes(settings.type_k, index_head) * cells
            state += 2 * rows * 2 * index_head * 4
        layer_bytes[il] += (size + state) * n_stream
        state_total += state * n_stream
    return state_total


def cache_layout(shape: ModelShape, settings: LlamaSettings, eff: Effective) -> CacheLayout:
    has_base, has_swa = shape.cache_kinds
    n_seq = _streams(settings)
    # (DeepSeek V4: its non-SWA cache holds no block; its cells size the compressed ones)
    base = eff.n_ctx // n_seq if has_base or shape.compress_ratios else 0
    sliding_cells = swa_cells(shape, settings, eff) if has_swa else 0
    if shape.compress_ratios:  # DeepSeek V4: a stream per sequence, whatever kv_unified says
        per_stream = eff.n_ctx // n_seq
        sliding_cells = per_stream if settings.swa_full else pad_to(
            min(per_stream, shape.n_swa + eff.n_ubatch), 256)
        n_seq = settings.n_seq_max
    per_cell = shape.kv_bytes_per_cell(settings.type_k, settings.type_v, not settings.flash_attn)
    layer_bytes = [size * (sliding_cells if sliding else base) * n_seq
                   for size, sliding in per_cell]
    recurrent_total = 0
    if shape.compress_ratios:
        recurrent_total = _dsv4_compressed(shape, settings, eff, layer_bytes)
    kv_total = sum(layer_bytes) - recurrent_total
    if shape.recurrent_layers:
        state_bytes = (shape.recurrent_r_floats + shape.recurrent_s_floats) * 4 * settings.n_seq_max
        extra = shape.recurrent_extra_floats
        for il, recurrent in enumerate(shape.recurrent_layers):
            if recurrent:
                layer_state = state_bytes + (extra[il] * 4 * settings.n_seq_max if extra else 0)
                layer_bytes[il] += layer_state
                recurrent_total += layer_state
    return CacheLayout(
        caches=AttentionCaches(base_cells=base, swa_cells=sliding_cells),
        layer_bytes=tuple(layer_bytes), kv_bytes=kv_total, recurrent_bytes=recurrent_total,
    )
