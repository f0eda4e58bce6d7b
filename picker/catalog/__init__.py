"""The curated model catalog: typed, validated, loaded from the shipped TOML files."""

from __future__ import annotations

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
    "load_catalog",
    "load_catalog_from",
    "shipped_data_dir",
]
