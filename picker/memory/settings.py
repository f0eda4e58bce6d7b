"""The llama.cpp context settings that decide memory, with llama-cpp-python's defaults.

Defaults are what `llama_cpp.Llama(model_path)` (llama-cpp-python 0.3.36) loads
with, checked in its source: n_ctx=512, n_batch=512, n_ubatch=512,
n_gpu_layers=0, flash_attn=False (sent as LLAMA_FLASH_ATTN_TYPE_DISABLED),
swa_full unset so llama.cpp's C default true applies, type_k/type_v unset so
f16, offload_kqv=True, one sequence. The plan therefore describes what
picker's own runtime will really allocate.
"""

from typing import Any, NamedTuple

from picker.errors import UsageError

# ggml cache types: (elements per block, bytes per block), from ggml's type traits.
CACHE_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2), "q8_0": (32, 34), "q4_0": (32, 18),
    "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "iq4_nl": (32, 18),
}
QUANTIZED_CACHE_TYPES = frozenset(name for name, (block, _) in CACHE_TYPES.items() if block > 1)


def pad_to(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


def row_bytes(type_name: str, elements: int) -> int:
    """ggml_row_size: bytes of `elements` values of a cache type."""
    block, size = CACHE_TYPES[type_name]
    return elements // block * size


class Settings(NamedTuple):
    """What the plan is for. `n_gpu_layers=None` means: let the solver choose."""

    n_ctx: int = 512
    n_batch: int = 512
    n_ubatch: int = 512
    n_gpu_layers: int | None = 0
    flash_attn: bool = False
    swa_full: bool = True
    type_k: str = "f16"
    type_v: str = "f16"
    n_seq_max: int = 1
    offload_kqv: bool = True
    n_cpu_moe: int | None = 0  # blocks whose routed experts stay on the CPU; None: the solver's
    kv_unified: bool = False  # one KV stream all slots share (llama-server's -kvu)

    def to_dict(self) -> dict[str, Any]:
        document = self._asdict()
        document["n_gpu_layers"] = "auto" if self.n_gpu_layers is None else self.n_gpu_layers
        if self.n_cpu_moe == 0:
            del document["n_cpu_moe"]  # llama.cpp's default: said only when asked for
        elif self.n_cpu_moe is None:
            document["n_cpu_moe"] = "auto"
        if not self.kv_unified:
            del document["kv_unified"]  # llama.cpp's default: said only when asked for
        return document


LLAMA_CPP_PYTHON_DEFAULTS = Settings()


class Effective(NamedTuple):
    """Settings after llama.cpp's own adjustments (padding and clamping)."""

    n_ctx: int  # cells of the full KV cache (multiple of 256), all slots together
    n_batch: int
    n_ubatch: int


def effective(settings: Settings, n_ctx_train: int) -> Effective:
    """Apply llama-cpp-python's and llama_context's clamps, in their order."""
    n_ctx = settings.n_ctx or n_ctx_train or 512  # 0 means the trained context
    n_batch = min(n_ctx, settings.n_batch)  # llama-cpp-python, then llama.cpp again
    n_ubatch = min(n_batch, settings.n_ubatch)
    if settings.kv_unified:  # one stream of n_ctx cells, each slot may use all of it
        return Effective(n_ctx=pad_to(n_ctx, 256), n_batch=n_batch, n_ubatch=n_ubatch)
    n_ctx_seq = pad_to(pad_to(n_ctx, 256) // settings.n_seq_max, 256)
    return Effective(n_ctx=n_ctx_seq * settings.n_seq_max, n_batch=n_batch, n_ubatch=n_ubatch)


def check(settings: Settings, key_lengths: tuple[int, ...], value_lengths: tuple[int, ...],
          is_mla: bool) -> None:
    """Refuse what llama.cpp refuses, with its reason."""
    for flag, name in (("--cache-type-k", settings.type_k), ("--cache-type-v", settings.type_v)):
        if name not in CACHE_TYPES:
            known = ", ".join(CACHE_TYPES)
            raise UsageError(f"{flag}: unknown cache type {name!r}; use one of {known}")
    if settings.n_ctx < 0 or settings.n_ubatch < 1 or settings.n_batch < 1:
        raise UsageError("--ctx must be 0 or more and --n-ubatch at least 1")
    if settings.type_v in QUANTIZED_CACHE_TYPES and not settings.flash_attn:
        raise UsageError(
            "llama.cpp refuses this: quantized V cache requires flash_attn to be enabled "
            "(add --flash-attn on, or use --cache-type-v f16)"
        )
    if is_mla and settings.type_k != settings.type_v:
        raise UsageError(
            f"llama.cpp refuses this: model does not support different K ({settings.type_k}) "
            f"and V ({settings.type_v}) cache types"
        )
    if settings.flash_attn:
        for name, lengths, which in ((settings.type_k, key_lengths, "k"),
                                     (settings.type_v, value_lengths, "v")):
            block = CACHE_TYPES[name][0]
            bad = [length for length in lengths if length % block]
            if bad:
                raise UsageError(
                    f"llama.cpp refuses this: {which.upper()} cache type {name} with block size "
                    f"{block} does not divide n_embd_head_{which}={bad[0]}"
                )
