"""The refresh overlay: exact file lists, sizes and sha256 fetched from the Hub.

`picker catalog refresh` writes it to the user's cache dir; `load_catalog()` lays it
over the shipped entries, so exact figures replace estimates while the shipped
catalog stays untouched and keeps working when the overlay is missing or damaged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from picker.catalog.types import Catalog, Model, Quantization

OVERLAY_FILE = "catalog-overlay.json"
FORMAT_VERSION = 1
HUB_SOURCE = "hub-refresh"
_SHA256 = r"^[0-9a-f]{64}$"  # compiled on first use (re keeps it): most runs read no overlay


def overlay_path(cache_dir: Path) -> Path:
    return cache_dir / OVERLAY_FILE


def write_overlay(cache_dir: Path, document: dict[str, object]) -> Path:
    """Atomically replace the overlay file."""
    import tempfile

    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"format": FORMAT_VERSION, **document}, out, indent=1, sort_keys=True)
    target = overlay_path(cache_dir)
    os.replace(temporary, target)
    return target


def read_overlay(cache_dir: Path) -> dict[str, object] | None:
    """The overlay document, or None when absent, damaged or of another format (then the
    shipped sizes stand until the next `picker catalog refresh`)."""
    from picker.cachefiles import read_json

    document = read_json(overlay_path(cache_dir))
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        return None
    return document


def _quantization(raw: object, known_types: set[str]) -> Quantization | None:
    if not isinstance(raw, dict):
        return None
    quant, files, size = raw.get("quant"), raw.get("files"), raw.get("size_bytes")
    hashes = raw.get("sha256", [])
    if (
        type(quant) is not str or quant not in known_types
        or not isinstance(files, list) or not files
        or not all(isinstance(f, str) and f.lower().endswith(".gguf") for f in files)
        or type(size) is not int or size <= 0
        or not isinstance(hashes, list)
        or not all(isinstance(h, str) and re.match(_SHA256, h) for h in hashes)
    ):
        return None
    return Quantization(str(quant), tuple(files), size, False, tuple(hashes), HUB_SOURCE)


def _header_changes(model: Model, entry: dict[str, object]) -> dict[str, Any]:
    """Exact architecture and parameter count from a refreshed header, when they check out."""
    from picker.catalog.build import build_architecture
    from picker.catalog.schema import Problems

    raw = entry.get("architecture")
    if not isinstance(raw, dict):
        return {}
    raw = dict(raw)
    shipped = model.architecture
    # A header has neither the sliding-window layer pattern nor the model card's RoPE
    # extension; keep the curated ones where the header agrees with them.
    if raw.get("sliding_window") == shipped.sliding_window and shipped.sliding_window_pattern:
        raw.setdefault("sliding_window_pattern", shipped.sliding_window_pattern)
    context = raw.get("context_length")
    if shipped.rope_scaling and type(context) is int and shipped.max_context_length > context:
        raw.setdefault("max_context_length", shipped.max_context_length)
        raw.setdefault("rope_scaling", shipped.rope_scaling)
    problems = Problems()
    architecture = build_architecture(raw, model.id, problems)
    if architecture is None or problems.items:
        return {}
    changes: dict[str, Any] = {"architecture": architecture}
    parameters = entry.get("parameters")
    if type(parameters) is int and parameters > 0:
        changes["parameters"] = parameters
        if not model.is_moe:
            changes["active_parameters"] = parameters
    return changes


def apply_overlay(catalog: Catalog, document: dict[str, object] | None) -> Catalog:
    """The catalog with every refreshed model's quantizations replaced by the Hub's.

    Entries that do not check out (unknown quant type, bad hash, wrong repo) are
    ignored one by one: a damaged overlay can only cost exactness, never the catalog.
    """
    refreshed = document.get("models") if document else None
    if not isinstance(refreshed, dict):
        return catalog
    known = set(catalog.quant_types)
    order = {name: index for index, name in enumerate(catalog.quant_types)}
    models: list[Model] = []
    for model in catalog.models:
        entry = refreshed.get(model.id)
        if (
            not isinstance(entry, dict)
            or model.gguf is None
            or entry.get("repo") != model.gguf.repo
            or not isinstance(entry.get("quantizations"), list)
        ):
            models.append(model)
            continue
        quants = [q for q in (_quantization(r, known) for r in entry["quantizations"]) if q]
        if not quants:
            models.append(model)
            continue
        quants.sort(key=lambda q: order[q.type])
        changes: dict[str, Any] = {"quantizations": tuple(quants)}
        changes |= _header_changes(model, entry)
        models.append(model._replace(**changes))
    return catalog._replace(models=tuple(models))
