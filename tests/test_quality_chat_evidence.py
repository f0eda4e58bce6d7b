"""Chat compared like with like, and what a model has not published predicted fairly, on the
shipped catalog: IFEval (overfit, after the IFBench paper) and MT-Bench (poorly separating,
after the Arena-Hard paper) are weak evidence with IFBench and MultiChallenge standing in
(usecases.WEAK_EVIDENCE, ALTERNATIVES); an unpublished benchmark counts at its size peers'
lower quartile, not the catalog's (quality.SIZE_PEER_SPAN), and for a use case other than
general knowledge half of it is the model's general-knowledge quality
(quality.PROXY_PREDICTION); models known from the use case's benchmarks and from the proxy
rank on one scale (quality.ranking_tier)."""

from __future__ import annotations

import pytest

from picker.catalog import load_catalog
from picker.catalog.types import BenchmarkScore, Catalog
from picker.rank.comparable import score_group
from picker.rank.quality import (
    PROXY_PREDICTION,
    References,
    _lower_quartile,
    base_quality,
    ranking_tier,
    size_class,
)
from picker.rank.usecases import ALTERNATIVES, USE_CASES, WEAK_EVIDENCE
from tests.catalog_twins import catalog_model, with_twins
from tests.test_rank import ranked

CHAT, GENERAL = USE_CASES["chat"], USE_CASES["general"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def refs(catalog: Catalog) -> References:
    return References(catalog)


def test_ifeval_and_mt_bench_are_weak_and_newer_tests_stand_in() -> None:
    ifeval_strength, ifeval_reason = WEAK_EVIDENCE["ifeval"]
    assert ifeval_strength == 0.5 and "IFBench paper, arXiv 2507.02833" in ifeval_reason
    assert WEAK_EVIDENCE["mt_bench"][0] == 0.5 and "arXiv 2406.11939" in WEAK_EVIDENCE["mt_bench"][1]
    assert "ifbench" in ALTERNATIVES["ifeval"] and "multichallenge" in ALTERNATIVES["mt_bench"]
    assert "ifbench" not in WEAK_EVIDENCE and "multichallenge" not in WEAK_EVIDENCE


def test_ifbench_and_multichallenge_count_in_full_for_chat(catalog: Catalog, refs: References) -> None:
    quality = base_quality(catalog_model(catalog, "qwen3.5-27b"), CHAT, refs)
    by_test = {use.group.test: use for use in quality.detail}
    assert quality.level == 2 and {"ifbench", "multichallenge"} <= set(by_test)
    assert all(by_test[test].to_dict()["evidence_strength"] == 1.0 for test in ("ifbench", "multichallenge"))
    assert "in place of ifeval" in quality.why and "in place of mt_bench" in quality.why
    # Only Arena Elo (a fifth of the weight) is unpublished.
    assert quality.known_share == pytest.approx(0.8)


def test_an_overfit_ifeval_alone_does_not_outrank_a_strong_proxy(catalog: Catalog,
                                                                  refs: References) -> None:
    # Spark X2.5 4B publishes only IFEval for chat (93, thinking); Qwen3.6 27B publishes no
    # chat benchmark but strong general ones. Before, any own score outranked every proxy.
    spark = base_quality(catalog_model(catalog, "spark-x2.5-4b"), CHAT, refs)
    qwen = base_quality(catalog_model(catalog, "qwen3.6-27b"), CHAT, refs)
    assert spark.level == 1 and "only weak evidence" in spark.why and "IFBench paper" in spark.why
    assert qwen.level == 1 and qwen.known_share == 0.0 and "predicted" in qwen.why
    assert ranking_tier(spark.level) == ranking_tier(qwen.level) == ranking_tier(2)
    assert spark.raw is not None and qwen.raw is not None and qwen.raw > spark.raw
    on_24gb = [rec.model.id for rec in ranked(catalog, "32g-24g-gpu", "chat", limit=20).recommendations]
    assert {"qwen3.5-27b", "qwen3.6-27b"} <= set(on_24gb[:5])
    assert "spark-x2.5-4b" not in on_24gb[:on_24gb.index("qwen3.6-27b")]
    # The two that led the laptop's chat top 5 on their IFEval alone no longer lead it: what
    # their general benchmarks say now weighs beside it (LFM2.5 8B-A1B stays, for its speed).
    on_laptop = [rec.model.id for rec in ranked(catalog, "laptop-8g", "chat", limit=5).recommendations]
    assert len(on_laptop) == 5 and "spark-x2.5-4b" not in on_laptop
    assert on_laptop[0] not in ("spark-x2.5-4b", "lfm2.5-8b-a1b")


def test_the_proxy_enters_the_prediction_by_its_stated_weight(catalog: Catalog) -> None:
    ifeval = BenchmarkScore("ifeval", 93.0, "x", "IFEval, instruct")
    patched, twins = with_twins(
        catalog, "qwen3-8b",
        knows=(ifeval, BenchmarkScore("mmlu", 85.0, "x", "MMLU-Pro, thinking")),
        forgets=(ifeval, BenchmarkScore("mmlu", 45.0, "x", "MMLU-Pro, thinking")))
    refs = References(patched)
    knows, forgets = (base_quality(twins[name], CHAT, refs) for name in ("knows", "forgets"))
    general = {name: base_quality(twins[name], GENERAL, refs).raw for name in ("knows", "forgets")}
    assert knows.raw is not None and forgets.raw is not None
    assert general["knows"] is not None and general["forgets"] is not None
    # IFEval is half known; the rest of chat's weight (3/4) is predicted, half from the proxy.
    predicted = 1.0 - knows.known_share
    assert predicted == pytest.approx(0.75)
    assert knows.raw - forgets.raw == pytest.approx(
        predicted * PROXY_PREDICTION * (general["knows"] - general["forgets"]))
    assert "50 % its general-knowledge quality" in knows.why


def test_unknown_scores_count_at_the_size_peers_lower_quartile(catalog: Catalog,
                                                              refs: References) -> None:
    small, large = catalog_model(catalog, "qwen3.5-4b"), catalog_model(catalog, "qwen3.6-27b")
    everyone = sorted(value for _, value in refs._published_values("mmlu"))
    small_prior = refs.unknown_value("mmlu", size_class(small))
    # The catalog's lower quartile sits above what models of 4B measure, below 27B's peers.
    assert small_prior < _lower_quartile(everyone) < refs.unknown_value("mmlu", size_class(large))
    # A 4B model that publishes a single favourable number (its GPQA Diamond) is counted at
    # its peers' prior for the rest, and ranks below the same model with its full card.
    lone_gpqa = tuple(score for score in small.benchmarks if score.benchmark == "gpqa")
    patched, twins = with_twins(catalog, "qwen3.5-4b", lone=lone_gpqa)
    patched_refs = References(patched)
    lone = base_quality(twins["lone"], GENERAL, patched_refs)
    full = base_quality(small, GENERAL, patched_refs)
    assert lone.raw is not None and full.raw is not None and lone.raw < full.raw
    assert "size peers' lower quartile" in lone.why
    assert f"mmlu {small_prior * 100:.0f} %" in lone.why


def test_arena_hard_is_compared_per_judge_in_place_of_arena_elo(catalog: Catalog,
                                                               refs: References) -> None:
    gpt41 = score_group(BenchmarkScore("arena_hard_v2", 69.0, "x", "win rate judged by GPT-4.1, instruct"))
    gemini = score_group(BenchmarkScore("arena_hard_v2", 78.0, "x", "win rate, judge gemini-2.5-pro"))
    assert gpt41.test == "arena_hard_v2" and gemini.test == "arena_hard_v2_other_judge"
    assert gemini.family == "arena_hard_v2" and "arena_hard_v2" in ALTERNATIVES["arena_elo"]
    quality = base_quality(catalog_model(catalog, "qwen3-next-80b-a3b-instruct"), CHAT, refs)
    (use,) = (use for use in quality.detail if use.score.benchmark == "arena_hard_v2")
    assert use.facet == "arena_elo" and not use.crosses_settings and use.peers >= 3
    assert "in place of arena_elo" in quality.why
