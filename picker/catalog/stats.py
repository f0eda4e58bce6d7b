"""`picker catalog stats`: how old the catalog is, and how much of it is exact.

Ages are counted from today: the newest model's release, the shipped data's stamp, a kept
catalog update and the last `catalog refresh`. Counts say what the data holds: models by
family and architecture, sizes exact vs estimated, how well each model's default
quantization's files are backed (`picker.catalog.defaults`), models with cited scores.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from picker.catalog.types import Catalog


def _days_since(day: str, today: dt.date) -> int | None:
    try:
        return (today - dt.date.fromisoformat(day[:10])).days
    except ValueError:
        return None


def catalog_stats(catalog: Catalog, data_dir: Path, cache_dir: Path,
                  today: dt.date | None = None) -> dict[str, object]:
    from picker.catalog.defaults import default_evidence, default_evidence_counts
    from picker.catalog.loader import update_dir, user_catalog_dir
    from picker.catalog.overlay import read_overlay
    from picker.catalog.update import read_manifest, shipped_stamp, stale_update

    today = today or dt.datetime.now(dt.UTC).date()
    models = catalog.models
    newest = max(models, key=lambda m: (m.released, m.id), default=None)
    quants = [q for m in models for q in m.quantizations]
    update_folder = update_dir(data_dir)
    manifest = read_manifest(update_folder) if update_folder.is_dir() else None
    overlay = read_overlay(cache_dir) or {}
    user_files = {p.name for p in user_catalog_dir(data_dir).glob("*.toml")}
    fetched_at = overlay.get("fetched_at")
    defaults = default_evidence(catalog)
    return {
        "today": today.isoformat(),
        "models": len(models),
        "closed_references": len(catalog.closed),
        "newest_release": None if newest is None else {
            "model_id": newest.id, "released": newest.released,
            "days_ago": _days_since(newest.released, today)},
        "shipped_data_updated": shipped_stamp() or None,
        "update": None if manifest is None else {
            **{k: manifest.get(k) for k in ("created", "description", "source", "kept_at", "files")},
            "days_old": _days_since(str(manifest["created"]), today),
            "in_use": not stale_update(update_folder)},
        "refreshed_at": fetched_at if isinstance(fetched_at, str) else None,
        "user_added_models": sum(1 for m in models if m.source_file in user_files),
        "by_family": dict(sorted(Counter(m.family for m in models).items())),
        "by_architecture": dict(sorted(Counter(m.architecture.arch for m in models).items())),
        "quantizations": {"exact": sum(not q.size_estimated for q in quants),
                          "estimated": sum(q.size_estimated for q in quants)},
        "models_all_sizes_exact": sum(all(not q.size_estimated for q in m.quantizations)
                                      and bool(m.quantizations) for m in models),
        "default_quantizations": {**default_evidence_counts(defaults), "unconfirmed": sorted(
            model_id for model_id, grade in defaults.items() if grade not in ("exact", "named"))},
        "models_with_scores": sum(bool(m.benchmarks) for m in models),
        "models_without_scores": sorted(m.id for m in models if not m.benchmarks),
    }


def _days(count: object) -> str:
    return "age unknown" if not isinstance(count, int) else f"{count} day{'' if count == 1 else 's'}"


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counter.items())


def _defaults_line(defaults: dict[str, Any]) -> str:
    runnable = sum(defaults[grade] for grade in ("exact", "named", "pattern", "unnamed"))
    return (f"  default quants:  {defaults['exact']} of {runnable} with file and exact size from a "
            f"source, {defaults['named']} with files from a source (size estimated), "
            f"{defaults['pattern'] + defaults['unnamed']} unconfirmed")


def render_stats(stats: dict[str, Any]) -> str:
    from picker.safetext import escape_controls

    newest = stats["newest_release"]
    lines = [f"Catalog: {stats['models']} open models, {stats['closed_references']} closed "
             f"references (as of {stats['today']})"]
    if newest:
        lines.append(f"  newest model:    {escape_controls(newest['model_id'])}, released "
                     f"{newest['released']} ({_days(newest['days_ago'])} ago)")
    lines.append(f"  shipped data:    last changed {stats['shipped_data_updated'] or 'unknown'}")
    update = stats["update"]
    if update:
        state = "in use" if update["in_use"] else "NOT in use (older than the shipped data)"
        lines.append(f"  catalog update:  created {update['created']} ({_days(update['days_old'])} "
                     f"old), {state}; from {escape_controls(str(update['source']))}")
    else:
        lines.append("  catalog update:  none (`picker catalog update FILE|URL` brings newer data)")
    lines.append(f"  refreshed sizes: {stats['refreshed_at'] or 'never (`picker catalog refresh`)'}")
    if stats["user_added_models"]:
        lines.append(f"  your additions:  {stats['user_added_models']} models")
    quants = stats["quantizations"]
    lines += [
        f"  sizes:           {quants['exact']} quantizations exact, {quants['estimated']} estimated; "
        f"{stats['models_all_sizes_exact']} model(s) with every size exact",
        _defaults_line(stats["default_quantizations"]),
        f"  scores:          {stats['models_with_scores']} of {stats['models']} models have cited "
        "benchmark scores",
        f"  by family:       {escape_controls(_counts(stats['by_family']))}",
        f"  by architecture: {escape_controls(_counts(stats['by_architecture']))}",
    ]
    if stats["models_without_scores"]:
        lines.append(f"  without scores:  {escape_controls(', '.join(stats['models_without_scores']))}")
    return "\n".join(lines)
