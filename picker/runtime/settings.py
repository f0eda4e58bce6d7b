"""What the llama.cpp child loads with, and how long it may take.

Plain values that cross the process boundary as JSON: the parent builds them from
the memory plan, the child turns them into `llama_cpp.Llama` arguments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from picker.errors import UsageError

# KV cache element types llama.cpp accepts for type_k / type_v.
CACHE_TYPES: tuple[str, ...] = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")


@dataclass(frozen=True)
class RuntimeSettings:
    """The llama.cpp context and placement settings a model is loaded with."""

    n_gpu_layers: int = 0  # -1: all layers on the GPU
    n_ctx: int = 2048
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: bool = False
    type_k: str = "f16"
    type_v: str = "f16"
    n_threads: int | None = None  # None: llama.cpp's default
    swa_full: bool | None = None  # None: llama-cpp-python's default
    seed: int = 1234

    def __post_init__(self) -> None:
        for name in ("type_k", "type_v"):
            value = getattr(self, name)
            if value not in CACHE_TYPES:
                raise UsageError(
                    f"{name}: unknown KV cache type {value!r}; use one of {', '.join(CACHE_TYPES)}"
                )
        if self.n_ctx <= 0 or self.n_batch <= 0 or self.n_ubatch <= 0:
            raise UsageError("n_ctx, n_batch and n_ubatch must be at least 1")
        if self.type_v != "f16" and self.type_v != "f32" and not self.flash_attn:
            raise UsageError(
                f"type_v {self.type_v} needs flash attention: llama.cpp cannot create the context "
                "with a quantized V cache otherwise"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuntimeSettings:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


# A load reads the whole file when layers go to a GPU: allow a slow disk's pace.
_SLOWEST_READ_BYTES_PER_SECOND = 50 * 1000 * 1000
_MIN_LOAD_SECONDS = 300.0


def default_load_seconds(file_size_bytes: int) -> float:
    """At least 5 minutes; more for files too big to read in that time at 50 MB/s."""
    return max(_MIN_LOAD_SECONDS, file_size_bytes / _SLOWEST_READ_BYTES_PER_SECOND)


@dataclass(frozen=True)
class RuntimeLimits:
    """Wall-clock limits after which the child is killed."""

    load_seconds: float = _MIN_LOAD_SECONDS  # process start + import + model load
    generation_seconds: float = 300.0  # one answer, first token to last

    @classmethod
    def for_file(cls, file_size_bytes: int, load_seconds: float | None = None,
                 generation_seconds: float | None = None) -> RuntimeLimits:
        """The user's limits where given, else defaults sized to the model file."""
        return cls(
            load_seconds=load_seconds or default_load_seconds(file_size_bytes),
            generation_seconds=generation_seconds or cls.generation_seconds,
        )
