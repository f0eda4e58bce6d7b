"""From a ranking request to the recommendations document.

`picker recommend`, `picker --json` (their flags, read in `picker.commands.common`) and the
TUI (its controls, `picker.tui.data.Query`) all call `build(RankRequest(...))`, so the
three always agree.
"""

# No postponed annotations (PEP 563): RankRequest's field types stay objects, not
# strings typing would compile at import (tests/test_core_imports.py).
from typing import TYPE_CHECKING, Any

from picker.errors import UsageError
from picker.hardware.overrides import HardwareOverrides
from picker.namedrecord import NamedRecord
from picker.rank.usecases import (
    DEFAULT_MIN_TOKENS_PER_SECOND,
    DEFAULT_USE_CASE,
    USE_CASE_ALIASES,
    USE_CASES,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from picker.catalog.types import Model, Quantization
    from picker.hardware.model import HardwareSnapshot
    from picker.history.summary import SpeedSummary
    from picker.rank.candidates import Candidate
    from picker.rank.engine import RankOptions
    from picker.rank.records import RecommendationRecord


class RankRequest(NamedRecord):
    """What the ranking is asked: a use case and its filters, on this or a what-if machine.
    None takes the default (the use case's context, the speed floor)."""

    use_case: str = DEFAULT_USE_CASE  # or an alias (`code`)
    context: int | None = None  # tokens; None: the use case's default
    limit: int | None = 10  # None: every model that fits (the TUI)
    min_tokens_per_second: float | None = None  # None: DEFAULT_MIN_TOKENS_PER_SECOND
    commercial_only: bool = False
    capabilities: tuple[str, ...] = ()
    on_disk_only: bool = False
    max_download_bytes: int | None = None
    tokens_per_month: int | None = None  # the cost comparison's volume; None: no costs
    usd_per_kwh: float | None = None
    overrides: HardwareOverrides = HardwareOverrides()


def on_disk_quants() -> frozenset[tuple[str, str]]:
    """(model id, quant) of every catalog quantization found complete on disk."""
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_local_copies

    return frozenset((copy.model_id, copy.quant.upper()) for copy in find_local_copies(load_catalog()))


def rank_options(request: RankRequest) -> "RankOptions":
    """The ranking's options for `request`: the use case and capabilities checked (a usage
    error names the flag), defaults filled in, --on-disk read from the disk."""
    from picker.catalog.types import CAPABILITIES
    from picker.rank.engine import RankOptions

    use_case = USE_CASE_ALIASES.get(request.use_case, request.use_case)
    if use_case not in USE_CASES:
        raise UsageError(f"--use-case: unknown {use_case!r}; use one of {', '.join(USE_CASES)}")
    unknown = [c for c in request.capabilities if c not in CAPABILITIES]
    if unknown:
        raise UsageError(f"--capability: unknown {', '.join(unknown)}; use one of "
                         f"{', '.join(sorted(CAPABILITIES))}")
    min_speed = request.min_tokens_per_second
    return RankOptions(
        use_case=use_case,
        context=request.context,
        limit=request.limit or None,
        min_tokens_per_second=DEFAULT_MIN_TOKENS_PER_SECOND if min_speed is None else min_speed,
        commercial_only=request.commercial_only,
        capabilities=request.capabilities,
        max_download_bytes=request.max_download_bytes,
        tokens_per_month=request.tokens_per_month,
        usd_per_kwh=request.usd_per_kwh,
        only_quants=on_disk_quants() if request.on_disk_only else None,
    )


class _MeasuredSpeeds:
    """The ranking's view of the history: one query up front, then dictionary lookups."""

    def __init__(self, measured: "dict[tuple[str, str, str], SpeedSummary]") -> None:
        self.measured = measured
        self.files = {(repo, filename) for repo, filename, _ in measured}

    def covers(self, model: "Model", quant: "Quantization") -> bool:
        return model.gguf is not None and bool(quant.files) and (
            (model.gguf.repo, quant.files[0]) in self.files)

    def __call__(self, model: "Model", candidate: "Candidate",
                 settings: "Mapping[str, object]") -> tuple[float, float | None, str] | None:
        from picker.history.fingerprint import settings_key

        if model.gguf is None or not self.covers(model, candidate.quant):
            return None
        found = self.measured.get((model.gguf.repo, candidate.quant.files[0], settings_key(settings)))
        if found is None:
            return None
        return (found.generation_tokens_per_second, found.prompt_tokens_per_second,
                f"measured on this machine by a smoke test or chat ({found.runs} run(s), median)")


def measured_lookup(snapshot: "HardwareSnapshot",
                    warnings: list[str] | None = None) -> _MeasuredSpeeds | None:
    """History lookups for this machine, or None when nothing was ever measured here. A history
    that cannot be read costs the measured speeds (a line in `warnings`), never the ranking."""
    from picker.errors import PickerError
    from picker.paths import HISTORY_DATABASE_NAME, picker_paths

    path = picker_paths().data_dir / HISTORY_DATABASE_NAME
    if not path.exists():
        return None
    from picker.history.summary import measured_speeds

    notices = warnings if warnings is not None else []
    try:
        measured = measured_speeds(path, snapshot, notices)
    except PickerError as error:
        notices.append(f"measured speeds not used: {error.message}")
        return None
    return _MeasuredSpeeds(measured) if measured else None


class Ranking(NamedRecord):
    """One ranking, typed: the TUI reads the records, `--json` prints `document()`."""

    hardware: dict[str, Any]
    settings: dict[str, Any]
    records: "tuple[RecommendationRecord, ...]"
    text: str
    warnings: list[str]

    def document(self) -> dict[str, object]:
        """What `picker --json` prints: `hardware`, `settings` and the ranked `recommendations`."""
        return {"hardware": self.hardware, "settings": self.settings,
                "recommendations": [record.to_dict() for record in self.records]}


def recommendations_document(request: RankRequest) -> dict[str, object]:
    """What `picker --json` prints: `hardware`, `settings` and the ranked `recommendations`."""
    return rank(request).document()


def build(request: RankRequest) -> tuple[dict[str, object], str, list[str]]:
    """The headless document (`hardware`, `settings`, `recommendations`), its text and warnings."""
    ranking = rank(request)
    return ranking.document(), ranking.text, ranking.warnings


def rank(request: RankRequest, snapshot: "HardwareSnapshot | None" = None) -> Ranking:
    """Rank the catalog on this (or the what-if) machine for the request; `snapshot`: that
    machine as probed already (the TUI ranks twice on one probe, so both agree)."""
    from picker.catalog import load_catalog
    from picker.hardware.probe import probe_hardware
    from picker.rank.document import recommendation_records, render_text, speed_basis_dict
    from picker.rank.engine import recommend
    from picker.speed.cpu_bandwidth import cpu_bandwidth

    options = rank_options(request)
    if snapshot is None:
        snapshot = probe_hardware(request.overrides)
    catalog = load_catalog()
    history_warnings: list[str] = []
    result = recommend(snapshot, catalog, options, cpu_bandwidth(),
                       measured_lookup(snapshot, history_warnings))
    from picker.memory.compute_graph import save_remembered

    save_remembered()  # the compute buffers worked out, for the next run
    records = recommendation_records(result, catalog, snapshot)
    settings = options.settings_dict(result.use_case)
    settings["speed_basis"] = speed_basis_dict(result)
    settings["excluded"] = {reason: len(ids) for reason, ids in result.excluded.items()}
    from picker.hardware.render import what_if_summary

    what_if = what_if_summary(snapshot) if snapshot.overridden else ""
    return Ranking(snapshot.to_dict(), settings, records, render_text(result, records, what_if),
                   [*catalog.warnings, *result.warnings, *history_warnings])
