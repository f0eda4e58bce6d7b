"""llama.cpp's own adjustments to the context settings, and its refusals that depend on the model.

The settings themselves are `picker.llama_settings.LlamaSettings`, shared with the runtime.
"""

from typing import NamedTuple

from picker.errors import UsageError
from picker.llama_settings import CACHE_TYPES, LlamaSettings


def pad_to(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


def row_bytes(type_name: str, elements: int) -> int:
    """ggml_row_size: bytes of `elements` values of a cache type."""
    block, size = CACHE_TYPES[type_name]
    return elements // block * size


class Effective(NamedTuple):
    """Settings after llama.cpp's own adjustments (padding and clamping)."""

    n_ctx: int  # cells of the full KV cache (multiple of 256), all slots together
    n_batch: int
    n_ubatch: int


def effective(settings: LlamaSettings, n_ctx_train: int) -> Effective:
    """Apply llama-cpp-python's and llama_context's clamps, in their order."""
    n_ctx = settings.n_ctx or n_ctx_train or 512  # 0 means the trained context
    n_batch = min(n_ctx, settings.n_batch)  # llama-cpp-python, then llama.cpp again
    n_ubatch = min(n_batch, settings.n_ubatch)
    if settings.kv_unified:  # one stream of n_ctx cells, each slot may use all of it
        return Effective(n_ctx=pad_to(n_ctx, 256), n_batch=n_batch, n_ubatch=n_ubatch)
    n_ctx_seq = pad_to(pad_to(n_ctx, 256) // settings.n_seq_max, 256)
    return Effective(n_ctx=n_ctx_seq * settings.n_seq_max, n_batch=n_batch, n_ubatch=n_ubatch)


def check(settings: LlamaSettings, key_lengths: tuple[int, ...], value_lengths: tuple[int, ...],
          is_mla: bool) -> None:
    """Refuse what llama.cpp refuses, with its reason."""
    settings.check()
    if is_mla and settings.type_k != settings.type_v:
        # Suggest K's type for both only where its block divides every head (else f16), so
        # the advice does not lead straight to the block refusal below.
        block = CACHE_TYPES[settings.type_k][0]
        both = settings.type_k if all(length % block == 0
                                      for length in (*key_lengths, *value_lengths)) else "f16"
        raise UsageError(
            f"llama.cpp refuses this: model does not support different K ({settings.type_k}) "
            f"and V ({settings.type_v}) cache types; give both one type, e.g. "
            f"--cache-type-k {both} --cache-type-v {both}"
        )
    if settings.flash_attn:
        for name, lengths, which in ((settings.type_k, key_lengths, "k"),
                                     (settings.type_v, value_lengths, "v")):
            block = CACHE_TYPES[name][0]
            bad = [length for length in lengths if length % block]
            if bad:
                raise UsageError(
                    f"llama.cpp refuses this: {which.upper()} cache type {name} with block size "
                    f"{block} does not divide n_embd_head_{which}={bad[0]}; use "
                    f"--cache-type-{which} f16"
                )
