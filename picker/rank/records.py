"""One recommendation as a typed record: what `--json`, the text table and the TUI all render.

The ranking builds these once (`picker.rank.document.recommendation_record`); `to_dict` is
the `--json` row, key for key and in order, and the TUI reads the fields by name, so a
renamed field fails the type check instead of leaving a column silently empty. Parts only
`--json` and the detail pane's generic sections read (the memory plan, the comparison with
closed models, the cost) stay JSON sub-documents (`JsonObject`).
"""

# NamedTuples, not dataclasses: this is on the `picker --json` path (tests/test_core_imports.py),
# where importing `dataclasses` alone costs ~10 ms; made as NamedRecords, which define faster
# (picker/namedrecord.py).
from picker.namedrecord import NamedRecord

JsonObject = dict[str, object]  # a JSON sub-document, as json.dumps writes it


class SpeedRecord(NamedRecord):
    """Tokens per second: the estimate (its range and basis) or a measurement."""

    estimate: float
    range: tuple[float, float]
    measured: float | None
    basis: str  # "measured" or "estimate"
    prompt_estimate: float | None
    bound: float | None  # what the memory bandwidth allows at best
    empty_context: float | None  # the speed before the context fills
    method: str
    prompt_method: str | None
    bandwidth_sources: tuple[str, ...]
    measured_source: str | None

    @property
    def best(self) -> float:
        """The measurement where there is one, else the estimate."""
        return self.measured if self.measured else self.estimate

    def to_dict(self) -> JsonObject:
        return {"estimate": self.estimate, "range": list(self.range), "measured": self.measured,
                "basis": self.basis, "prompt_estimate": self.prompt_estimate,
                "bound": self.bound, "empty_context": self.empty_context,
                "method": self.method, "prompt_method": self.prompt_method,
                "bandwidth_sources": list(self.bandwidth_sources),
                "measured_source": self.measured_source}


class ComponentRecord(NamedRecord):
    """One part of the score: its weight-free score (0..1), the value it was judged on, why."""

    score: float | None
    value: float | None
    why: str

    def to_dict(self) -> JsonObject:
        return {"score": self.score, "value": self.value, "why": self.why}


class LicenseRecord(NamedRecord):
    name: str
    commercial: bool
    gated: bool


class CommandsRecord(NamedRecord):
    """The commands that act on the recommendation (no download for a file already local)."""

    download: str | None
    smoke: str
    # The plan as a llama-server command line, where picker's own runtime cannot load it:
    # MoE experts kept on the CPU (llama-cpp-python passes no tensor overrides).
    llama_server: str | None = None


class RecommendationRecord(NamedRecord):
    """One ranked model at one quant, on this machine, for one use case."""

    rank: int
    model_id: str
    name: str
    family: str
    parameters: float | None
    active_parameters: float | None
    quant: str
    repo: str | None
    file: str | None
    files: tuple[str, ...]
    vision_projector: str | None
    download_bytes: int | None
    download_size_estimated: bool
    placement: str
    n_gpu_layers: int
    context: int
    memory: JsonObject  # fits, estimated, estimate_note and the plan's devices and totals
    speed: SpeedRecord  # `tokens_per_second` in --json
    score: float
    quality_basis: str
    components: dict[str, ComponentRecord]
    why: dict[str, str]
    quant_reason: str | None
    quality_detail: JsonObject
    gpu_split: JsonObject | None
    comparison: JsonObject | None
    guidance: str | None
    license: LicenseRecord
    capabilities: tuple[str, ...]
    commands: CommandsRecord
    notes: tuple[str, ...]
    cost: JsonObject | None = None  # with a token budget only (`--tokens-per-month`)
    on_disk: bool = False  # the TUI's mark for a file already here; not in --json
    n_cpu_moe: int = 0  # blocks whose MoE experts stay on the CPU (llama.cpp's --n-cpu-moe)

    @property
    def where(self) -> str:
        """The placement for people: gpu, partial or cpu, and the experts kept on the CPU."""
        return self.placement + (f" + experts of {self.n_cpu_moe} layers on CPU"
                                 if self.n_cpu_moe else "")

    def to_dict(self) -> JsonObject:
        """The `--json` row."""
        document: JsonObject = {
            "rank": self.rank, "model_id": self.model_id, "name": self.name,
            "family": self.family, "parameters": self.parameters,
            "active_parameters": self.active_parameters, "quant": self.quant,
            "repo": self.repo, "file": self.file, "files": list(self.files),
            "vision_projector": self.vision_projector, "download_bytes": self.download_bytes,
            "download_size_estimated": self.download_size_estimated,
            "placement": self.placement, "n_gpu_layers": self.n_gpu_layers,
            "n_cpu_moe": self.n_cpu_moe, "context": self.context, "memory": self.memory,
            "tokens_per_second": self.speed.to_dict(), "score": self.score,
            "quality_basis": self.quality_basis,
            "components": {name: part.to_dict() for name, part in self.components.items()},
            "why": self.why, "quant_reason": self.quant_reason,
            "quality_detail": self.quality_detail, "gpu_split": self.gpu_split,
            "comparison": self.comparison, "guidance": self.guidance,
            "license": {"name": self.license.name, "commercial": self.license.commercial,
                        "gated": self.license.gated},
            "capabilities": list(self.capabilities),
            "commands": {"download": self.commands.download, "smoke": self.commands.smoke,
                         "llama_server": self.commands.llama_server},
            "notes": list(self.notes),
        }
        if self.cost is not None:
            document["cost"] = self.cost
        return document
