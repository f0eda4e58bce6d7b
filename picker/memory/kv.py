"""KV cache and recurrent state, per layer, exactly as llama.cpp sizes them.

Follows llama_kv_cache / llama_kv_cache_iswa / llama_memory_recurrent in the
llama.cpp that llama-cpp-python 0.3.36 vendors: cells are the padded context;
sliding-window layers get their own, smaller cache unless swa_full; MLA models
keep one K-only latent row per cell; with flash attention off V is stored
transposed and padded to the widest layer; recurrent layers hold a fixed f32
state per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

from picker.memory.compute import AttentionCaches
from picker.memory.settings import Effective, Settings, pad_to, row_bytes
from picker.memory.shape import ModelShape


@dataclass(frozen=True)
class CacheLayout:
    caches: AttentionCaches
    layer_bytes: tuple[int, ...]  # KV cache + recurrent state of each layer
    kv_bytes: int
    recurrent_bytes: int


def swa_cells(shape: ModelShape, settings: Settings, eff: Effective) -> int:
    """Cells per sequence of the sliding-window cache (llama_kv_cache_iswa)."""
    per_sequence = eff.n_ctx // settings.n_seq_max  # kv_unified is false: one stream each
    if settings.swa_full:
        return per_sequence
    return pad_to(min(per_sequence, shape.n_swa + eff.n_ubatch), 256)


def cache_layout(shape: ModelShape, settings: Settings, eff: Effective) -> CacheLayout:
    attention_layers = [il for il in range(shape.n_layer) if shape.n_head_kv[il] > 0]
    has_swa = any(shape.is_swa(il) for il in attention_layers)
    has_base = any(not shape.is_swa(il) for il in attention_layers)
    n_seq = settings.n_seq_max
    base = eff.n_ctx // n_seq if has_base else 0
    sliding = swa_cells(shape, settings, eff) if has_swa else 0
    v_transposed = not settings.flash_attn
    v_width_max = max(
        (shape.n_head_kv[il] * shape.head_dims(il)[1] for il in attention_layers), default=0
    )
    layer_bytes = [0] * shape.n_layer
    kv_total = 0
    for il in attention_layers:
        cells = sliding if shape.is_swa(il) else base
        key_length, value_length = shape.head_dims(il)
        k = row_bytes(settings.type_k, shape.n_head_kv[il] * key_length) * cells
        v = 0
        if not shape.is_mla:
            width = v_width_max if v_transposed else shape.n_head_kv[il] * value_length
            v = row_bytes(settings.type_v, width) * cells
        layer_bytes[il] = (k + v) * n_seq
        kv_total += (k + v) * n_seq
    state_bytes = (shape.recurrent_r_floats + shape.recurrent_s_floats) * 4 * n_seq
    recurrent_total = 0
    for il in range(shape.n_layer):
        if shape.is_recurrent(il):
            layer_bytes[il] += state_bytes
            recurrent_total += state_bytes
    return CacheLayout(
        caches=AttentionCaches(base_cells=base, swa_cells=sliding),
        layer_bytes=tuple(layer_bytes), kv_bytes=kv_total, recurrent_bytes=recurrent_total,
    )
