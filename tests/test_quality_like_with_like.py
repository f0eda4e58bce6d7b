"""Scores compared like with like across benchmark generations, agent scaffolds and settings,
on the shipped catalog: a LiveCodeBench release is compared with the same release
(comparable.py), a SWE-bench Verified run through a public scaffold with runs through one,
instruct and thinking runs share one yardstick (ScoreGroup.yardstick), a score compared
outside its own setting counts as half the evidence (quality.CROSSING_EVIDENCE),
and a public problem set open to memorization (HumanEval, MATH, MATH-500, GSM8K, AIME 2024)
can show a model is weak but not that it is strong (usecases.WEAK_EVIDENCE)."""

from __future__ import annotations

import pytest

from picker.catalog import load_catalog
from picker.catalog.types import BenchmarkScore, Catalog
from picker.rank.comparable import POST_TRAINED, ScoreGroup, score_group
from picker.rank.quality import CROSSING_EVIDENCE, MIN_PEERS, References, base_quality, size_class
from picker.rank.usecases import USE_CASES, WEAK_EVIDENCE
from tests.catalog_twins import catalog_model, with_twins
from tests.test_rank import ranked

CODING, MATH = USE_CASES["coding"], USE_CASES["math"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def refs(catalog: Catalog) -> References:
    return References(catalog)


@pytest.mark.parametrize(("setting", "test"), [
    ("LiveCodeBench v6 (2025-02 to 2025-05), thinking", "livecodebench_v6"),
    ("LiveCodeBench v3, thinking model, Table 1", "livecodebench_v3"),
    ("LiveCodeBench 2024-08 to 2025-05, reasoning", "livecodebench"),
    ("LiveCodeBench (version not named)", "livecodebench"),
])
def test_each_livecodebench_release_is_its_own_test(setting: str, test: str) -> None:
    group = score_group(BenchmarkScore("livecodebench", 60.0, "x", setting))
    assert group.test == test and group.family == "livecodebench"


@pytest.mark.parametrize(("setting", "test"), [
    ("SWE-bench Verified, OpenHands scaffold, instruct model", "swe_bench_verified_public"),
    ("Pass@1, Nebius's own runs on OpenHands v0.54.0", "swe_bench_verified_public"),
    ("resolved with mini-SWE-agent (bash only)", "swe_bench_verified_public"),
    ("Qwen's internal agent scaffold (bash + file-edit tools), thinking", "swe_bench_verified"),
    ("SWE-bench Verified (agent harness not named), reasoning model", "swe_bench_verified"),
])
def test_a_swe_bench_score_is_grouped_by_its_scaffold(setting: str, test: str) -> None:
    group = score_group(BenchmarkScore("swe_bench_verified", 50.0, "x", setting))
    assert group.test == test and group.family == "swe_bench_verified"


def test_an_older_livecodebench_release_is_not_read_as_the_newest(catalog: Catalog,
                                                                   refs: References) -> None:
    # OLMo 3.1 32B Think publishes LiveCodeBench v3 (problems to July 2024) only: fewer than
    # MIN_PEERS models publish v3, so it is compared with every release, says so, and counts
    # as half the evidence; it led coding on LiveCodeBench v3 alone before.
    olmo = catalog_model(catalog, "olmo-3.1-32b-think")
    quality = base_quality(olmo, CODING, refs)
    (use,) = quality.detail
    assert use.group == ScoreGroup("livecodebench_v3", "thinking")
    assert refs.peers.get(use.group, 0) < MIN_PEERS and use.crosses_settings
    assert use.to_dict()["evidence_strength"] == CROSSING_EVIDENCE[0]
    assert quality.known_share == pytest.approx(CROSSING_EVIDENCE[0])
    assert "in any setting, release or scaffold; crosses settings" in quality.why
    assert "compared across settings" in quality.why
    # Qwen3.6 27B publishes LiveCodeBench v6 and SWE-bench Verified, each in a full group.
    qwen = base_quality(catalog_model(catalog, "qwen3.6-27b"), CODING, refs)
    assert qwen.known_share == 1.0 and not any(use.crosses_settings for use in qwen.detail)
    assert qwen.raw is not None and quality.raw is not None and qwen.raw > quality.raw
    # On 2 x 24 GB, where both fit, the ranking agrees.
    order = [rec.model.id for rec in ranked(catalog, "64g-2x24g-gpu", "coding", limit=40).recommendations]
    assert order.index("qwen3.6-27b") < order.index("olmo-3.1-32b-think")
    assert order[0] != "olmo-3.1-32b-think"


def test_a_public_scaffold_score_is_compared_with_public_scaffold_runs(catalog: Catalog,
                                                                     refs: References) -> None:
    # Qwen3-Coder-30B-A3B's SWE-bench Verified 51.6 is an OpenHands run: its yardstick is the
    # best OpenHands run in the catalog, not the makers' own scaffolds' 80.
    coder = catalog_model(catalog, "qwen3-coder-30b-a3b-instruct")
    (use,) = base_quality(coder, CODING, refs).detail
    assert use.group == ScoreGroup("swe_bench_verified_public", "instruct")
    public = [score.score for model in catalog.models for score in model.benchmarks
              if score_group(score).yardstick == use.group.yardstick]
    makers = [score.score for model in catalog.models for score in model.benchmarks
              if score_group(score).test == "swe_bench_verified"]
    assert len({*public}) >= 2 and not use.crosses_settings
    assert use.fraction == pytest.approx(51.6 / max(public))
    assert max(makers) > max(public)  # the pooled yardstick would have been harder
    assert "SWE-bench Verified (a public scaffold), instruct" in use.group.label


def test_a_score_outside_its_own_setting_is_half_the_evidence(catalog: Catalog) -> None:
    # Two twins with the same LiveCodeBench v6 score: one in the catalog's full thinking
    # group, one in a setting nobody else reports (base model), compared across settings.
    patched, twins = with_twins(
        catalog, "qwen3-32b",
        own=(BenchmarkScore("livecodebench", 70.0, "x", "LiveCodeBench v6, thinking"),),
        lone=(BenchmarkScore("livecodebench", 70.0, "x", "LiveCodeBench v6, base model 3-shot"),))
    refs = References(patched)
    own, lone = base_quality(twins["own"], CODING, refs), base_quality(twins["lone"], CODING, refs)
    assert not own.detail[0].crosses_settings and lone.detail[0].crosses_settings
    assert own.known_share == 1.0 and lone.known_share == pytest.approx(CROSSING_EVIDENCE[0])
    assert "unknown" not in own.why and "compared across settings" in lone.why
    order = [rec.model.id for rec in ranked(patched, "32g-24g-gpu", "coding", limit=80).recommendations]
    assert order.index("own") < order.index("lone")


def test_a_saturated_score_counts_at_most_at_the_lower_quartile(catalog: Catalog) -> None:
    patched, twins = with_twins(
        catalog, "qwen3-32b",
        humaneval_top=(BenchmarkScore("humaneval", 99.0, "x", "pass@1, instruct"),),
        livecodebench_fair=(BenchmarkScore("livecodebench", 72.0, "x", "LiveCodeBench v6, thinking"),))
    refs = References(patched)
    saturated = base_quality(twins["humaneval_top"], CODING, refs)
    fair = base_quality(twins["livecodebench_fair"], CODING, refs)
    (use,) = saturated.detail
    quartile = refs.unknown_value("humaneval", size_class(twins["humaneval_top"]))
    # Top of its yardstick, but counted no higher than its size peers' lower quartile.
    assert use.fraction == 1.0 and use.credited == pytest.approx(quartile)
    assert saturated.level == 1 and saturated.raw is not None and saturated.raw <= quartile
    assert use.to_dict()["counted"] == round(quartile, 3)
    assert fair.raw is not None and fair.raw > quartile
    assert "at most at its size peers' lower quartile" in saturated.why
    order = [rec.model.id for rec in ranked(patched, "32g-24g-gpu", "coding", limit=120).recommendations]
    assert order.index("livecodebench_fair") < order.index("humaneval_top")


def test_math_ranks_fresh_competitions_above_public_problem_sets(catalog: Catalog) -> None:
    for test in ("math", "math_500", "gsm8k", "aime_2024"):
        assert WEAK_EVIDENCE[test][0] == 0.5 and "MathArena" in WEAK_EVIDENCE[test][1]
    patched, twins = with_twins(
        catalog, "qwen3-8b",
        open_sets=(BenchmarkScore("math", 98.0, "x", "MATH-500, thinking"),
                   BenchmarkScore("gsm8k", 96.0, "x", "GSM8K, thinking")),
        aime=(BenchmarkScore("aime_2025", 75.0, "x", "AIME 2025, thinking"),))
    refs = References(patched)
    open_sets = base_quality(twins["open_sets"], MATH, refs)
    aime = base_quality(twins["aime"], MATH, refs)
    assert open_sets.raw is not None and aime.raw is not None and aime.raw > open_sets.raw
    assert "a public problem set open to memorization" in open_sets.why
    order = [rec.model.id for rec in ranked(patched, "laptop-8g", "math", limit=120).recommendations]
    assert order.index("aime") < order.index("open_sets")
    # On the shipped catalog the 8 GB laptop's math pick has a fresh competition score.
    best = ranked(catalog, "laptop-8g", "math", limit=1).recommendations[0]
    assert {use.group.test for use in best.quality.detail} & {"aime_2025", "hmmt_feb_2025"}


def test_instruct_and_thinking_runs_share_one_yardstick(catalog: Catalog, refs: References) -> None:
    # Qwen3-30B-A3B 2507 comes as two models: Instruct (no thinking) publishes AIME 2025 61.3,
    # Thinking 85.0. Each is the model as people run it; measured against the best of its own
    # mode, the instruct model's 61.3 counted as fully as a thinking model's best.
    instruct = base_quality(catalog_model(catalog, "qwen3-30b-a3b-instruct-2507"), MATH, refs)
    thinking = base_quality(catalog_model(catalog, "qwen3-30b-a3b-thinking-2507"), MATH, refs)
    aime = {quality: next(use for use in quality.detail if use.group.test == "aime_2025")
            for quality in (instruct, thinking)}
    assert aime[instruct].group.mode == "instruct" and aime[thinking].group.mode == "thinking"
    assert aime[instruct].group.yardstick == aime[thinking].group.yardstick == ScoreGroup(
        "aime_2025", POST_TRAINED)
    best = refs.best[ScoreGroup("aime_2025", POST_TRAINED)]
    assert aime[instruct].fraction == pytest.approx(0.613 / best)
    assert aime[instruct].fraction < aime[thinking].fraction < 1.0
    assert "instruct or thinking runs" in instruct.why and "AIME 2025, instruct" in instruct.why
    assert instruct.raw is not None and thinking.raw is not None and thinking.raw > instruct.raw
    # A base model's score keeps its own yardstick (another checkpoint than the one run).
    assert ScoreGroup("mmlu", "base").yardstick == ScoreGroup("mmlu", "base")
    # Where both fit, math ranks the thinking model above its instruct twin.
    order = [rec.model.id for rec in ranked(catalog, "32g-24g-gpu", "math", limit=60).recommendations]
    assert order.index("qwen3-30b-a3b-thinking-2507") < order.index("qwen3-30b-a3b-instruct-2507")


def test_a_fresh_competition_stands_in_for_math(catalog: Catalog, refs: References) -> None:
    # The Qwen3.6 card reports HMMT February 2025 (a competition after its data), not MATH or
    # AIME 2025: it counts for MATH's weight, compared with the other HMMT runs only.
    qwen = base_quality(catalog_model(catalog, "qwen3.6-27b"), MATH, refs)
    (hmmt,) = [use for use in qwen.detail if use.group.test == "hmmt_feb_2025"]
    assert hmmt.facet == "math" and not hmmt.crosses_settings and hmmt.peers >= MIN_PEERS
    assert "HMMT February 2025, thinking" in qwen.why and "in place of math" in qwen.why
    assert qwen.known_share == pytest.approx(0.75)  # MATH's and GPQA's weight; GSM8K unknown
    # On 2 x 24 GB the math pick now has a fresh competition score, HMMT or AIME 2025.
    best = ranked(catalog, "64g-2x24g-gpu", "math", limit=1).recommendations[0]
    assert {use.group.test for use in best.quality.detail} & {"hmmt_feb_2025", "aime_2025"}
