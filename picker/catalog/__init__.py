"""The curated model catalog: typed, validated, loaded from the shipped TOML files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker.catalog.loader import load_catalog, load_catalog_from, shipped_data_dir
from picker.catalog.schema import CatalogError
from picker.catalog.types import (
    BENCHMARK_RANGES,
    CAPABILITIES,
    Architecture,
    BenchmarkScore,
    Catalog,
    ClosedModel,
    GgufSource,
    License,
    Model,
    Quantization,
    QuantType,
    Source,
)

if TYPE_CHECKING:
    from picker.hub.target import HubFiles
    from picker.memory.shape import ModelShape


def hub_files(target: str) -> HubFiles:
    """What `picker download MODEL_ID:QUANT` fetches (a picker.hub.HubFiles)."""
    from picker.catalog.hooks import hub_files as resolve_files

    return resolve_files(target)


def fit_shape(target: str) -> ModelShape:
    """The memory plan's ModelShape for `picker fit MODEL_ID:QUANT` (estimated from facts)."""
    from picker.catalog.hooks import fit_shape as resolve_shape

    return resolve_shape(target)


__all__ = [
    "BENCHMARK_RANGES",
    "CAPABILITIES",
    "Architecture",
    "BenchmarkScore",
    "Catalog",
    "CatalogError",
    "ClosedModel",
    "GgufSource",
    "License",
    "Model",
    "QuantType",
    "Quantization",
    "Source",
    "fit_shape",
    "hub_files",
    "load_catalog",
    "load_catalog_from",
    "shipped_data_dir",
]
