"""The llama.cpp context settings: one value shared by the memory plan, the runtime, the dry
run and the exports, so what picker plans is what it loads, measures and writes out.

The defaults are what `llama_cpp.Llama(model_path)` (llama-cpp-python 0.3.36) loads with,
checked in its source: n_ctx=512, n_batch=512, n_ubatch=512, n_gpu_layers=0,
flash_attn=False (sent as LLAMA_FLASH_ATTN_TYPE_DISABLED), swa_full unset so llama.cpp's
C default true applies, type_k/type_v unset so f16, offload_kqv=True, one sequence. A plan
made with the defaults therefore describes what a plain `Llama(path)` really allocates;
picker's own commands choose the context themselves (`picker.rank.usecases.planned_context`).
"""

# No postponed annotations (PEP 563) and no dataclasses: this is on the `picker --json`
# path, where a NamedTuple's eager annotations and not importing `dataclasses` (~10 ms) keep
# it fast (tests/test_core_imports.py).
from typing import Final

from picker.errors import UsageError
from picker.namedrecord import NamedRecord

# ggml cache types: (elements per block, bytes per block), from ggml's type traits.
CACHE_TYPES: Final[dict[str, tuple[int, int]]] = {
    "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2), "q8_0": (32, 34), "q4_0": (32, 18),
    "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "iq4_nl": (32, 18),
}
QUANTIZED_CACHE_TYPES: Final = frozenset(name for name, (block, _) in CACHE_TYPES.items() if block > 1)
# ggml type ids of the cache types (ggml.h enum ggml_type), for llama_context_params.
GGML_TYPE_IDS: Final[dict[str, int]] = {
    "f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8,
    "iq4_nl": 20, "bf16": 30,
}
WireValue = int | bool | str | None  # what one setting is as JSON, across a process boundary


class LlamaSettings(NamedRecord):
    """One llama.cpp context (immutable: `_replace` makes a changed copy).
    `n_gpu_layers=None` and `n_cpu_moe=None`: the solver chooses."""

    n_ctx: int = 512  # 0: the model's trained context (llama.cpp's meaning)
    n_batch: int = 512
    n_ubatch: int = 512
    n_gpu_layers: int | None = 0  # -1 asks the runtime for every layer
    flash_attn: bool = False
    swa_full: bool = True
    type_k: str = "f16"
    type_v: str = "f16"
    n_seq_max: int = 1  # parallel sequences (llama-server's slots, -np)
    offload_kqv: bool = True
    n_cpu_moe: int | None = 0  # blocks whose routed experts stay on the CPU
    kv_unified: bool = False  # one KV stream all slots share (llama-server's -kvu)
    n_threads: int | None = None  # None: llama.cpp's default; does not change memory
    seed: int = 1234  # the runtime's sampling seed; does not change memory

    def check(self) -> None:
        """Refuse what llama.cpp refuses whatever the model, with its reason (checked here only)."""
        for flag, name in (("--cache-type-k", self.type_k), ("--cache-type-v", self.type_v)):
            if name not in CACHE_TYPES:
                raise UsageError(f"{flag}: unknown cache type {name!r}; use one of "
                                 f"{', '.join(CACHE_TYPES)}")
        if self.n_ctx < 0 or self.n_ubatch < 1 or self.n_batch < 1:
            raise UsageError("--ctx must be 0 or more and --n-ubatch at least 1")
        if self.type_v in QUANTIZED_CACHE_TYPES and not self.flash_attn:
            raise UsageError(
                "llama.cpp refuses this: quantized V cache requires flash_attn to be enabled "
                "(add --flash-attn on, or use --cache-type-v f16)"
            )

    def to_dict(self) -> dict[str, object]:
        """The memory plan's settings as `picker fit --json` says them (callers add to it)."""
        document: dict[str, object] = {
            "n_ctx": self.n_ctx, "n_batch": self.n_batch, "n_ubatch": self.n_ubatch,
            "n_gpu_layers": "auto" if self.n_gpu_layers is None else self.n_gpu_layers,
            "flash_attn": self.flash_attn, "swa_full": self.swa_full, "type_k": self.type_k,
            "type_v": self.type_v, "n_seq_max": self.n_seq_max, "offload_kqv": self.offload_kqv,
        }
        if self.n_cpu_moe != 0:  # llama.cpp's default (none) is said only when asked for
            document["n_cpu_moe"] = "auto" if self.n_cpu_moe is None else self.n_cpu_moe
        if self.kv_unified:
            document["kv_unified"] = True
        return document

    def load_dict(self) -> dict[str, WireValue]:
        """What a load used, as `picker smoke --json` and the history say it."""
        return {"n_gpu_layers": self.n_gpu_layers, "n_ctx": self.n_ctx, "n_batch": self.n_batch,
                "n_ubatch": self.n_ubatch, "flash_attn": self.flash_attn, "type_k": self.type_k,
                "type_v": self.type_v, "n_threads": self.n_threads, "swa_full": self.swa_full,
                "seed": self.seed}

    def to_wire(self) -> dict[str, WireValue]:
        """Every field, for a child process (`from_wire` reads it back)."""
        return self._asdict()

    @classmethod
    def from_wire(cls, data: dict[str, WireValue]) -> "LlamaSettings":
        """Settings a parent sent; a field of the wrong type is refused, never guessed."""
        values: dict[str, WireValue] = {}
        for name in cls._fields:
            if name in data:
                value = data[name]
                if not isinstance(value, _WIRE_TYPES[name]) or (
                        isinstance(value, bool) and bool not in _WIRE_TYPES[name]):
                    raise ValueError(f"setting {name}: unexpected value {value!r}")
                values[name] = value
        return cls(**values)  # type: ignore[arg-type]  # each value's type was checked above


_WIRE_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "n_ctx": (int,), "n_batch": (int,), "n_ubatch": (int,), "n_gpu_layers": (int, type(None)),
    "flash_attn": (bool,), "swa_full": (bool,), "type_k": (str,), "type_v": (str,),
    "n_seq_max": (int,), "offload_kqv": (bool,), "n_cpu_moe": (int, type(None)),
    "kv_unified": (bool,), "n_threads": (int, type(None)), "seed": (int,),
}
LLAMA_CPP_PYTHON_DEFAULTS: Final = LlamaSettings()
