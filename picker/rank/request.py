"""From command-line style arguments to the recommendations document.

`picker recommend`, `picker --json` and the TUI all call `build(args)` (or
`picker.rank.document.recommendations_document(args)`) with the same namespace, so
the three always agree. Missing attributes take their defaults, so a namespace from
the top-level parser (only --json and the what-if flags) works too.
"""

from __future__ import annotations

import argparse
from typing import Any

from picker.errors import UsageError
from picker.rank.usecases import (
    DEFAULT_MIN_TOKENS_PER_SECOND,
    DEFAULT_USE_CASE,
    USE_CASE_ALIASES,
    USE_CASES,
)

# picker.history.store.DATABASE_NAME, spelled out so that a machine with no history never
# imports it (tests/test_recommend_cli.py checks they agree).
HISTORY_DATABASE_NAME = "history.sqlite3"


def _get(args: argparse.Namespace, name: str, default: Any) -> Any:
    value = getattr(args, name, None)
    return default if value is None else value


def on_disk_quants() -> frozenset[tuple[str, str]]:
    """(model id, quant) of every catalog quantization found complete on disk."""
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_local_copies

    return frozenset((copy.model_id, copy.quant.upper()) for copy in find_local_copies(load_catalog()))


def options_from_args(args: argparse.Namespace) -> Any:
    """RankOptions from `picker recommend`'s flags; absent or None attributes take defaults."""
    from picker.catalog.types import CAPABILITIES
    from picker.rank.engine import RankOptions
    from picker.units import parse_size

    use_case = _get(args, "use_case", DEFAULT_USE_CASE)
    use_case = USE_CASE_ALIASES.get(use_case, use_case)
    if use_case not in USE_CASES:
        raise UsageError(f"--use-case: unknown {use_case!r}; use one of {', '.join(USE_CASES)}")
    capabilities = tuple(_get(args, "capability", []))
    unknown = [c for c in capabilities if c not in CAPABILITIES]
    if unknown:
        raise UsageError(f"--capability: unknown {', '.join(unknown)}; use one of "
                         f"{', '.join(sorted(CAPABILITIES))}")
    max_download = _get(args, "max_download", None)
    if isinstance(max_download, str):
        max_download = parse_size(max_download, "--max-download")
    return RankOptions(
        use_case=use_case,
        context=_get(args, "ctx", None),
        limit=getattr(args, "limit", 10) or None,  # absent: 10; None (the TUI): all
        min_tokens_per_second=_get(args, "min_speed", DEFAULT_MIN_TOKENS_PER_SECOND),
        commercial_only=bool(_get(args, "commercial", False)),
        capabilities=capabilities,
        max_download_bytes=max_download,
        tokens_per_month=_get(args, "tokens_per_month", None),
        usd_per_kwh=_get(args, "electricity_price", None),
        only_quants=on_disk_quants() if _get(args, "on_disk", False) else None,
    )


class _MeasuredSpeeds:
    """The ranking's view of the history: one query up front, then dictionary lookups."""

    def __init__(self, measured: dict[tuple[str, str, str], Any]) -> None:
        self.measured = measured
        self.files = {(repo, filename) for repo, filename, _ in measured}

    def covers(self, model: Any, quant: Any) -> bool:
        return model.gguf is not None and bool(quant.files) and (
            (model.gguf.repo, quant.files[0]) in self.files)

    def __call__(self, model: Any, candidate: Any,
                 settings: dict[str, Any]) -> tuple[float, float | None, str] | None:
        from picker.history.fingerprint import settings_key

        if not self.covers(model, candidate.quant):
            return None
        found = self.measured.get((model.gguf.repo, candidate.quant.files[0], settings_key(settings)))
        if found is None:
            return None
        return (found.generation_tokens_per_second, found.prompt_tokens_per_second,
                f"measured on this machine by a smoke test or chat ({found.runs} run(s), median)")


def measured_lookup(snapshot: Any, warnings: list[str] | None = None) -> _MeasuredSpeeds | None:
    """History lookups for this machine, or None when nothing was ever measured here. A history
    that cannot be read costs the measured speeds (a line in `warnings`), never the ranking."""
    from picker.errors import PickerError
    from picker.paths import picker_paths

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


def build(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[str]]:
    """The headless document (`hardware`, `settings`, `recommendations`), its text and warnings."""
    from picker.catalog import load_catalog
    from picker.hardware.overrides import HardwareOverrides
    from picker.hardware.probe import probe_hardware
    from picker.rank.document import recommendations_list, render_text, speed_basis_dict
    from picker.rank.engine import recommend
    from picker.speed.cpu_bandwidth import cpu_bandwidth

    options = options_from_args(args)
    snapshot = probe_hardware(HardwareOverrides.from_args(args))
    catalog = load_catalog()
    history_warnings: list[str] = []
    result = recommend(snapshot, catalog, options, cpu_bandwidth(),
                       measured_lookup(snapshot, history_warnings))
    from picker.memory.compute_graph import save_remembered

    save_remembered()  # the compute buffers worked out, for the next run
    recommendations = recommendations_list(result, catalog, snapshot)
    settings = options.settings_dict(result.use_case)
    settings["speed_basis"] = speed_basis_dict(result)
    settings["excluded"] = {reason: len(ids) for reason, ids in result.excluded.items()}
    document = {"hardware": snapshot.to_dict(), "settings": settings,
                "recommendations": recommendations}
    from picker.hardware.render import what_if_summary

    what_if = what_if_summary(snapshot) if snapshot.overridden else ""
    return (document, render_text(result, recommendations, what_if),
            [*catalog.warnings, *result.warnings, *history_warnings])
