"""Catalog models under new ids with only the scores a ranking test gives them: the same
files and shape as a real entry, so that only the evidence differs."""

from __future__ import annotations

from picker.catalog.types import BenchmarkScore, Catalog, Model


def catalog_model(catalog: Catalog, model_id: str) -> Model:
    return next(model for model in catalog.models if model.id == model_id)


def with_twins(catalog: Catalog, template: str, **scores: tuple[BenchmarkScore, ...]
               ) -> tuple[Catalog, dict[str, Model]]:
    """`template`'s files and shape under new ids, each with only the given scores, added to
    `catalog`."""
    model = catalog_model(catalog, template)
    twins = {name: model._replace(id=name, name=name, benchmarks=benchmarks)
             for name, benchmarks in scores.items()}
    return catalog._replace(models=(*catalog.models, *twins.values())), twins
