"""Immutable values the catalog is made of.

Everything downstream (fit, rank, CLI, TUI) reads these, never the TOML. Field
names follow catalog/README.md, which documents units and sources. NamedTuples
rather than dataclasses: they are created ~7x faster at import, and this module
sits on the path of `picker --json` (dates are ISO text, so it needs no datetime);
made as NamedRecords, ~5x faster again (picker/namedrecord.py).
"""

from collections.abc import Sequence

from picker.namedrecord import NamedRecord

# Benchmarks the catalog knows, with the range a valid score falls in.
BENCHMARK_RANGES: dict[str, tuple[float, float]] = {
    "mmlu": (0.0, 100.0),
    "humaneval": (0.0, 100.0),
    "math": (0.0, 100.0),
    "gsm8k": (0.0, 100.0),
    "mt_bench": (0.0, 10.0),
    "ifeval": (0.0, 100.0),
    "gpqa": (0.0, 100.0),
    "arena_elo": (800.0, 1800.0),
    # Reported by 2025-26 model cards; stored and shown, not (yet) weighed by the ranking.
    "mmlu_pro": (0.0, 100.0),
    "mmlu_redux": (0.0, 100.0),
    "aime_2024": (0.0, 100.0),
    "aime_2025": (0.0, 100.0),
    # HMMT February 2025 (Harvard-MIT Mathematics Tournament): a competition held after most
    # 2025-26 models' data was gathered, reported by the Qwen3.5 / Qwen3.6 cards.
    "hmmt_feb_2025": (0.0, 100.0),
    "livecodebench": (0.0, 100.0),
    "swe_bench_verified": (0.0, 100.0),
    "swe_bench_pro": (0.0, 100.0),
    "mm_vet": (0.0, 100.0),
    # Chat: IFBench (AI2, 58 constraints unseen in IFEval's 25) and MultiChallenge (Scale AI,
    # realistic multi-turn conversations), reported by 2025-26 cards beside IFEval.
    "ifbench": (0.0, 100.0),
    "multichallenge": (0.0, 100.0),
    # Arena-Hard v2 (LMArena's Arena-Hard-Auto): win rate against a baseline, judged by a model.
    "arena_hard_v2": (0.0, 100.0),
    "hle": (0.0, 100.0),
}

CAPABILITIES: frozenset[str] = frozenset(
    {"instruct", "tools", "vision", "thinking", "code", "multilingual", "long_context"}
)


class BenchmarkScore(NamedRecord):
    """One published score: where it comes from and how it was measured."""

    benchmark: str  # a key of BENCHMARK_RANGES
    score: float  # percent, except mt_bench (0-10) and arena_elo (Elo points)
    source: str  # a key of catalog/sources.toml or an https URL
    setting: str = ""  # e.g. "5-shot, instruct", "0-shot CoT"
    note: str = ""


class Architecture(NamedRecord):
    """What the fit engine needs when no GGUF header is at hand (from config.json)."""

    arch: str  # GGUF general.architecture, e.g. "llama", "qwen2", "gemma3"
    layers: int
    hidden_size: int
    heads: int
    kv_heads: int
    key_length: int  # per-head key width (head_dim)
    value_length: int
    vocab_size: int
    context_length: int  # trained context (config max_position_embeddings)
    max_context_length: int  # with the documented RoPE scaling; == context_length without
    rope_scaling: str | None = None  # "yarn", "llama3", "longrope", ...
    sliding_window: int = 0  # tokens; 0 = no sliding-window attention
    sliding_window_pattern: int = 0  # N: of every N layers, N-1 slide and 1 is global
    experts: int = 0  # routed experts per MoE layer; 0 = dense
    experts_used: int = 0  # routed experts active per token
    shared_experts: int = 0
    tied_embeddings: bool = False
    intermediate_size: int | None = None
    kv_lora_rank: int | None = None  # MLA (DeepSeek V2/V3): compressed KV width
    rope_head_dim: int | None = None  # MLA: decoupled RoPE key width
    # The 2026 layouts (see catalog/README.md); 0 = not this kind of model.
    expert_intermediate_size: int = 0  # one routed expert's FFN width, when it differs
    shared_expert_intermediate_size: int = 0  # total width of the shared experts
    dense_lead_layers: int = 0  # leading layers with a dense FFN instead of experts
    nextn_layers: int = 0  # multi-token-prediction blocks after `layers` (not loaded)
    full_attention_interval: int = 0  # hybrids: every N-th layer attends, the rest recur
    full_attention_last_layer: int = 0  # 1: the last layer attends too (Kimi Linear)
    linear_conv_kernel: int = 0  # hybrids' gated delta net: conv kernel width
    linear_key_heads: int = 0
    linear_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    shared_kv_layers: int = 0  # Gemma 4: last layers reusing an earlier layer's KV cache
    per_layer_input_size: int = 0  # Gemma per-layer embedding width
    sliding_head_dim: int = 0  # key/value width of sliding-window layers when it differs
    sliding_kv_heads: int = 0  # KV heads of sliding-window layers when they differ (Gemma 4)
    indexer_key_length: int = 0  # DSA (GLM-5): the lightning indexer's key width (its cache)
    indexer_top_k: int = 0  # DSA: cells the indexer keeps per token
    csa_layers: int = 0  # DeepSeek V4: blocks with compressed sparse attention (ratio 4)
    hca_layers: int = 0  # DeepSeek V4: blocks with heavily compressed attention (ratio 128)
    attention_layers: int = 0  # Nemotron-H hybrids: blocks that attend (the others: Mamba-2
    mamba_layers: int = 0  # blocks, with a state, or FFN / MoE blocks, with neither)
    source: str = ""  # where these facts were read

    @property
    def trained_context(self) -> int:
        """The longest context the model runs well: with its documented RoPE scaling, else
        its native one."""
        return self.max_context_length or self.context_length


class License(NamedRecord):
    name: str
    commercial: bool  # commercial use allowed (possibly with conditions)
    gated: bool  # the publisher's Hub repo asks for agreement before download
    url: str = ""
    note: str = ""


class Quantization(NamedRecord):
    """One published GGUF quantization of a model."""

    type: str  # llama.cpp name: Q4_K_M, Q8_0, BF16, IQ4_XS, MXFP4_MOE ...
    files: tuple[str, ...]  # file paths in the repo; empty when not known yet (split files)
    size_bytes: int  # total of all files
    size_estimated: bool  # True: params x whole-file bits per weight, see README
    sha256: tuple[str, ...] = ()  # one per file when known
    source: str = ""  # where exact size / hash were read

    @property
    def split(self) -> bool:
        return len(self.files) > 1


class GgufSource(NamedRecord):
    repo: str  # Hugging Face repo holding the GGUF files
    quantizer: str  # "publisher", "bartowski", "unsloth", "lmstudio-community", ...


class Model(NamedRecord):
    """A runnable open model, one entry per model (never per re-upload)."""

    id: str
    name: str
    family: str
    publisher: str
    hf_repo: str  # the publisher's original (safetensors) repo
    released: str  # ISO date, YYYY-MM-DD
    parameters: int  # total
    active_parameters: int  # == parameters for dense models
    architecture: Architecture
    capabilities: frozenset[str]
    languages: tuple[str, ...]
    license: License
    gguf: GgufSource | None
    quantizations: tuple[Quantization, ...]
    benchmarks: tuple[BenchmarkScore, ...]
    source_file: str  # catalog file the entry came from
    notes: str = ""
    llama_cpp_supported: bool = True
    vision_projector: str = ""  # mmproj file in the GGUF repo, for vision models
    vision_projector_bytes: int = 0  # its size, where a cited source gives it; 0: unknown

    @property
    def is_moe(self) -> bool:
        return self.architecture.experts > 0

    def quantization(self, quant_type: str) -> Quantization | None:
        wanted = quant_type.upper()
        return next((q for q in self.quantizations if q.type.upper() == wanted), None)

    def benchmark(self, name: str) -> BenchmarkScore | None:
        return next((b for b in self.benchmarks if b.benchmark == name), None)


class ClosedModel(NamedRecord):
    """A closed API model for comparison only: benchmarks and prices, never runnable."""

    id: str
    name: str
    vendor: str
    released: str  # ISO date, YYYY-MM-DD
    benchmarks: tuple[BenchmarkScore, ...]
    input_usd_per_mtok: float  # API price per million input tokens
    output_usd_per_mtok: float
    price_source: str
    source_file: str
    notes: str = ""
    runnable: bool = False

    def benchmark(self, name: str) -> BenchmarkScore | None:
        return next((b for b in self.benchmarks if b.benchmark == name), None)


class QuantType(NamedRecord):
    """A llama.cpp quantization type and its published quality loss."""

    name: str
    file_bits_per_weight: float  # whole-file average measured on the reference model
    ppl_delta: float | None  # perplexity increase vs 16-bit on the reference model
    kld: float | None  # mean KL divergence vs FP16 on the reference model
    reference_model: str
    source: str
    note: str = ""


class Source(NamedRecord):
    key: str
    title: str
    url: str = ""


class Catalog(NamedRecord):
    # A tuple, or from a large catalog's cached copy one read lazily (`lazymodels.LazyModels`).
    models: Sequence[Model]
    closed: tuple[ClosedModel, ...]
    quant_types: dict[str, QuantType]
    sources: dict[str, Source]
    warnings: tuple[str, ...] = ()  # e.g. user additions that failed validation and were skipped

    def ids(self) -> list[str]:
        return [m.id for m in self.models] + [c.id for c in self.closed]

    def find(self, model_id: str) -> Model | ClosedModel | None:
        wanted = model_id.lower()
        entries: list[Model | ClosedModel] = [*self.models, *self.closed]
        return next((entry for entry in entries if entry.id == wanted), None)

    def model(self, model_id: str) -> Model | None:
        """The open (runnable) model with this id, or None."""
        wanted = model_id.lower()
        return next((m for m in self.models if m.id == wanted), None)

    def families(self) -> list[str]:
        return sorted({m.family for m in self.models})


def trained_context_words(native: int, scaled: int) -> str:
    """The one way picker states a model's context (catalog show, recommend, the TUI): the
    trained (native) length, and the longer one its documented RoPE scaling (YaRN) reaches."""
    if scaled > native > 0:
        return f"trained {native:,} tokens; {scaled:,} with RoPE scaling"
    return f"trained {max(native, scaled):,} tokens"
