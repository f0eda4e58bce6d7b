"""Every catalog model's default quantization names real files, and the grading of how well.

The default (Q4_K_M, else the nearest type in bits per weight) is what picker plans and
downloads first, so the shipped catalog must name its files: a split quantization with no
part names cannot be downloaded at all.
"""

from __future__ import annotations

import pytest

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.defaults import (
    EXACT,
    NAMED,
    PATTERN,
    UNNAMED,
    default_evidence,
    default_evidence_counts,
    default_quant,
    default_quantization,
    evidence_grade,
)
from picker.catalog.types import Catalog, Quantization

# Defaults whose file names no source shows yet, each with the reason. The list may only
# shrink: a model named here that gains file names fails the test below until removed.
KNOWN_UNNAMED: dict[str, str] = {}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_from(shipped_data_dir())


def test_every_default_quantization_names_its_files(catalog: Catalog) -> None:
    grades = default_evidence(catalog)
    unnamed = sorted(model_id for model_id, grade in grades.items() if grade == UNNAMED)
    unexpected = [model_id for model_id in unnamed if model_id not in KNOWN_UNNAMED]
    assert not unexpected, f"default quantization without file names: {', '.join(unexpected)}"
    resolved = sorted(set(KNOWN_UNNAMED) - set(unnamed))
    assert not resolved, f"now named, remove from KNOWN_UNNAMED: {', '.join(resolved)}"


def test_every_runnable_model_has_a_default(catalog: Catalog) -> None:
    grades = default_evidence(catalog)
    for model in catalog.models:
        if model.llama_cpp_supported:
            assert model.id in grades, model.id
            quant = default_quantization(model, catalog.quant_types)
            assert quant is not None and quant.size_bytes > 0


def test_an_exact_default_carries_its_source(catalog: Catalog) -> None:
    for model in catalog.models:
        quant = default_quantization(model, catalog.quant_types)
        if quant is not None and evidence_grade(quant) == EXACT:
            assert quant.files and quant.source, model.id
            assert quant.source in catalog.sources or quant.source.startswith("https://"), model.id


def test_counts_cover_every_runnable_model(catalog: Catalog) -> None:
    grades = default_evidence(catalog)
    counts = default_evidence_counts(grades)
    assert sum(counts.values()) == len(grades) > 0
    print(f"\ndefault quantizations: {counts[EXACT]} exact (size and source), {counts[NAMED]} named by "
          f"a source, {counts[PATTERN]} from the file pattern only, {counts[UNNAMED]} unnamed, "
          f"of {len(grades)}")


def test_default_is_q4_k_m_when_published_else_the_nearest_in_bits(catalog: Catalog) -> None:
    types = catalog.quant_types
    assert default_quant(["Q8_0", "Q4_K_M", "Q2_K"], types) == "Q4_K_M"
    assert default_quant(["MXFP4_MOE"], types) == "MXFP4_MOE"
    assert default_quant([], types) is None
    nearest = default_quant(["Q2_K", "Q5_K_M", "Q8_0"], types)
    target = types["Q4_K_M"].file_bits_per_weight
    distances = {q: abs(types[q].file_bits_per_weight - target) for q in ("Q2_K", "Q5_K_M", "Q8_0")}
    assert nearest == min(distances, key=lambda q: distances[q])


@pytest.mark.parametrize(("files", "size_estimated", "source", "grade"), [
    ((), True, "", UNNAMED),
    (("m-Q4_K_M.gguf",), True, "", PATTERN),
    (("m-Q4_K_M.gguf",), True, "localai-gallery", NAMED),
    (("m-Q4_K_M.gguf",), False, "lms-catalog", EXACT),
])
def test_evidence_grades(files: tuple[str, ...], size_estimated: bool, source: str, grade: str) -> None:
    quant = Quantization("Q4_K_M", files, 1_000, size_estimated, source=source)
    assert evidence_grade(quant) == grade
