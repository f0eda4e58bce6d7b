"""Which quantization of a model picker plans first, and what the catalog can show for its file.

The default is Q4_K_M when it is published, else the type nearest it in bits per weight (the
smaller on a tie): what most people download, and the one a Hub repository's header is read
from. For a catalog model the default must name real files in its GGUF repository; how well
that is backed is graded here, from an exact size read in a cited source down to a name
derived from the file pattern alone, so `catalog stats` and the tests can count it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from picker.catalog.types import Catalog, Model, Quantization, QuantType

DEFAULT_QUANT = "Q4_K_M"

# Evidence grades for a default quantization's files, strongest first.
EXACT = "exact"  # file names and the exact byte size, read in a cited source
NAMED = "named"  # file names (often with sha256) read in a cited source; the size is estimated
PATTERN = "pattern"  # file names derived from the repository's file pattern, no source
UNNAMED = "unnamed"  # no file names at all (an estimated split quantization)
GRADES = (EXACT, NAMED, PATTERN, UNNAMED)


def default_quant(found: Sequence[str], quant_types: Mapping[str, QuantType]) -> str | None:
    """Q4_K_M when present, else the type nearest it in bits per weight (the smaller on a tie)."""
    if not found:
        return None
    if DEFAULT_QUANT in found:
        return DEFAULT_QUANT
    target = quant_types[DEFAULT_QUANT].file_bits_per_weight if DEFAULT_QUANT in quant_types else 4.9

    def distance(quant: str) -> tuple[float, float]:
        bits = quant_types[quant].file_bits_per_weight if quant in quant_types else 99.0
        return abs(bits - target), bits

    return min(found, key=distance)


def default_quantization(model: Model, quant_types: Mapping[str, QuantType]) -> Quantization | None:
    """The model's default quantization; None for a model llama.cpp cannot run."""
    chosen = default_quant([q.type for q in model.quantizations], quant_types)
    return None if chosen is None else model.quantization(chosen)


def evidence_grade(quant: Quantization) -> str:
    """How well the catalog backs this quantization's files (one of GRADES)."""
    if not quant.files:
        return UNNAMED
    if not quant.source:
        return PATTERN
    return NAMED if quant.size_estimated else EXACT


def default_evidence(catalog: Catalog) -> dict[str, str]:
    """Model id -> evidence grade of its default quantization (runnable models only)."""
    grades: dict[str, str] = {}
    for model in catalog.models:
        quant = default_quantization(model, catalog.quant_types)
        if quant is not None:
            grades[model.id] = evidence_grade(quant)
    return grades


def default_evidence_counts(grades: Mapping[str, str]) -> dict[str, int]:
    """Models per evidence grade, every grade present (0 when none)."""
    counts = Counter(grades.values())
    return {grade: counts.get(grade, 0) for grade in GRADES}
