"""What the ranking's filters read of a model, without the rest of its record.

A large catalog's cached copy keeps these for every model in its index (lazymodels.py), so
a ranking filters and queues 5,000 models and reads the records of the few it plans; for a
catalog in memory they are taken from the records.
"""

from collections.abc import Callable, Sequence
from functools import partial

from picker.catalog.types import Model
from picker.namedrecord import NamedRecord


class ModelFacts(NamedRecord):
    """What the ranking's filters read of a model, kept in a large copy's index."""

    id: str
    runnable: bool  # llama.cpp runs it and it lists a quantization
    commercial: bool  # its license allows commercial use
    capabilities: frozenset[str]
    trained_context: int  # `Architecture.trained_context`


def facts_of(model: Model) -> ModelFacts:
    # Made as a tuple is (in C), not through the record's keyword-aware constructor: a
    # ranking makes one for each of the shipped catalog's models.
    return _facts((model.id, model.llama_cpp_supported and bool(model.quantizations),
                   model.license.commercial, model.capabilities,
                   model.architecture.trained_context))


_facts: Callable[[tuple[str, bool, bool, frozenset[str], int]], ModelFacts] = partial(
    tuple.__new__, ModelFacts)


def model_facts(models: Sequence[Model]) -> Sequence[ModelFacts]:
    """Every model's facts: a lazily read copy's from its index (`facts`), without decoding
    a record; else from the records."""
    kept: Sequence[ModelFacts] | None = getattr(models, "facts", None)
    if kept is not None:
        return kept
    return [_facts((model.id, model.llama_cpp_supported and bool(model.quantizations),  # facts_of
                    model.license.commercial, model.capabilities, model.architecture.trained_context))
            for model in models]


def model_ids(models: Sequence[Model]) -> list[str]:
    """Every model's id, in order (a lazily read copy's from its index)."""
    kept: Sequence[ModelFacts] | None = getattr(models, "facts", None)
    return [facts.id for facts in kept] if kept is not None else [model.id for model in models]
