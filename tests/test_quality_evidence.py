"""A saturated test is weaker evidence (usecases.WEAK_EVIDENCE, after the LiveCodeBench paper
and MathArena): beside a stronger test it is half known; alone it is half known too, counts at
most at its size peers' lower quartile, and the rest of the weight is predicted
(quality.PROXY_PREDICTION), so it cannot lift a model above one with a test that tells
models apart."""

from __future__ import annotations

import pytest

from picker.catalog import load_catalog
from picker.catalog.types import BenchmarkScore, Catalog
from picker.rank.engine import RankOptions, recommend
from picker.rank.quality import References, base_quality, size_class
from picker.rank.usecases import USE_CASES, WEAK_EVIDENCE
from tests.catalog_twins import with_twins
from tests.test_rank import CPU_BANDWIDTH, snapshot_for

CODING = USE_CASES["coding"]
# Above every catalog model's HumanEval; a LiveCodeBench well under the catalog's best.
TOP_HUMANEVAL = BenchmarkScore("humaneval", 99.0, "x", "pass@1, instruct")
GOOD_LIVECODEBENCH = BenchmarkScore("livecodebench", 72.0, "x", "v6, thinking")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_humaneval_alone_ranks_with_the_proxies(catalog: Catalog) -> None:
    patched, twins = with_twins(catalog, "qwen3-32b", humaneval_only=(TOP_HUMANEVAL,),
                            livecodebench_only=(GOOD_LIVECODEBENCH,))
    refs = References(patched)
    saturated = base_quality(twins["humaneval_only"], CODING, refs)
    fresh = base_quality(twins["livecodebench_only"], CODING, refs)
    assert saturated.raw is not None and fresh.raw is not None
    (use,) = saturated.detail
    (fresh_use,) = fresh.detail
    # On its own yardstick the HumanEval score is the better one...
    assert use.fraction == 1.0 and use.fraction > fresh_use.fraction
    # ...but it can show only weakness: it counts at most at its size peers' lower quartile...
    quartile = refs.unknown_value("humaneval", size_class(twins["humaneval_only"]))
    assert use.credited == pytest.approx(quartile) and quartile < fresh_use.credited
    # ...so a model known for coding from it alone has the proxy's basis, half known (the
    # rest predicted), below the model with a test that tells models apart.
    assert saturated.level == 1 and fresh.level == 2
    assert saturated.known_share == 0.5 and fresh.known_share == 1.0
    assert fresh.raw == pytest.approx(fresh_use.credited) and fresh.raw > saturated.raw
    # The explanation says so, with the reason and the source.
    assert ("only weak evidence for coding (HumanEval: a saturated test open to contamination"
            in saturated.why)
    assert "LiveCodeBench paper" in saturated.why and "counted at a prediction" in saturated.why
    assert "unknown" not in fresh.why and "saturated" not in fresh.why
    # --json carries each score's strength as evidence.
    strength = WEAK_EVIDENCE["humaneval"][0]
    assert strength == 0.5
    assert use.to_dict()["evidence_strength"] == strength
    assert fresh_use.to_dict()["evidence_strength"] == 1.0


def test_a_weak_test_beside_a_strong_one_is_half_known(catalog: Catalog) -> None:
    # Math: MATH-500 (a public set) for MATH's weight, GPQA Diamond (not weak) beside it. The
    # model stays with the use case's benchmarks; MATH's weight is half known, the other half
    # counted as unpublished at the lower of its own mean and the catalog's lower quartile.
    patched, twins = with_twins(catalog, "qwen3-32b", mixed=(
        BenchmarkScore("math", 99.0, "x", "MATH-500, thinking"),
        BenchmarkScore("gpqa", 70.0, "x", "GPQA Diamond, thinking")))
    refs = References(patched)
    quality = base_quality(twins["mixed"], USE_CASES["math"], refs)
    assert quality.level == 2
    weights = dict(USE_CASES["math"].benchmarks)
    strength = WEAK_EVIDENCE["math_500"][0]
    assert quality.known_share == pytest.approx(
        (weights["math"] * strength + weights["gpqa"]) / sum(weights.values()))
    math_use = next(use for use in quality.detail if use.group.test == "math_500")
    assert math_use.credited == pytest.approx(refs.unknown_value("math", size_class(twins["mixed"])))
    assert ("MATH-500 only for math: a public problem set open to memorization (MathArena"
            in quality.why)
    assert "counted as 50 % known" in quality.why


def test_beside_a_stronger_test_humaneval_counts_with_half_the_weight(catalog: Catalog) -> None:
    patched, twins = with_twins(catalog, "qwen3-32b", both=(TOP_HUMANEVAL, GOOD_LIVECODEBENCH))
    quality = base_quality(twins["both"], CODING, References(patched))
    by_test = {use.group.test: use.credited for use in quality.detail}
    assert quality.known_share == 1.0 and "unknown" not in quality.why
    assert quality.raw == pytest.approx((0.5 * by_test["humaneval"] + by_test["livecodebench_v6"]) / 1.5)


def test_the_ranking_puts_the_livecodebench_model_above_the_humaneval_only_one(
        catalog: Catalog) -> None:
    # The same files, shape and speed: only the evidence differs.
    patched, _ = with_twins(catalog, "qwen3-32b", humaneval_only=(TOP_HUMANEVAL,),
                        livecodebench_only=(GOOD_LIVECODEBENCH,))
    result = recommend(snapshot_for("32g-24g-gpu"), patched,
                       RankOptions(use_case="coding", limit=300), CPU_BANDWIDTH)
    ids = [rec.model.id for rec in result.recommendations]
    assert ids.index("livecodebench_only") < ids.index("humaneval_only")
    saturated = result.recommendations[ids.index("humaneval_only")]
    assert saturated.quality.level == 1 and "only weak evidence" in saturated.quality.why
