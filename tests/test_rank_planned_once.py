"""Planned once per planning inputs (`engine.PlannedOutcomes`): a model alike in every input
to one already planned gets that one's outcome with its own record, which must be exactly the
outcome planning it afresh gives; a model that differs in any input, or whose quality differs,
is planned afresh."""

from __future__ import annotations

import random
import time

import pytest

from picker.catalog import load_catalog
from picker.catalog.types import BenchmarkScore, Catalog, Model
from picker.hardware.model import CpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.overrides import HardwareOverrides, apply_overrides
from picker.rank import engine
from picker.rank.engine import RankOptions, RankResult, recommend
from picker.rank.quality import References, base_quality
from picker.rank.usecases import USE_CASES
from picker.speed.cpu_bandwidth import CpuBandwidth

GIB = 2**30
CPU_BANDWIDTH = CpuBandwidth(40e9, 38e9, 8, 32 << 20, 0.2, time.time(), "test", "test profile")


def _variant(model: Model, rng: random.Random, number: int) -> Model:
    """A copy of `model` under another id, alike in every planning input or (at random) not:
    one quant's file larger, a shorter trained context, other benchmark scores, or the same
    scores from other sources (the quality's wording differs, its value does not)."""
    copy = model._replace(id=f"{model.id}-copy{number}", name=f"{model.name} copy {number}",
                          released="2026-12-01", notes="a copy", hf_repo=f"{model.hf_repo}-copy")
    change = rng.choice(("none", "none", "none", "quant", "context", "scores", "sources"))
    if change == "quant" and copy.quantizations:
        first, *rest = copy.quantizations
        copy = copy._replace(quantizations=(first._replace(size_bytes=first.size_bytes * 3 // 2),
                                            *rest))
    elif change == "context":
        copy = copy._replace(architecture=copy.architecture._replace(
            context_length=max(2048, copy.architecture.context_length // 4), max_context_length=0))
    elif change == "scores":
        copy = copy._replace(benchmarks=tuple(
            BenchmarkScore(s.benchmark, round(s.score * 0.8, 1), s.source, s.setting, s.note)
            for s in copy.benchmarks))
    elif change == "sources":  # the same values (so the same quality value), read elsewhere
        copy = copy._replace(benchmarks=tuple(s._replace(source=f"https://example.org/{s.source}")
                                              for s in copy.benchmarks))
    return copy


@pytest.fixture(scope="module")
def copied() -> Catalog:
    """The shipped catalog with two copies of every model after it (as a synthetic or a
    re-listing catalog has them), some of them changed in one planning input."""
    catalog = load_catalog()
    rng = random.Random(13)
    copies = [_variant(model, rng, number) for number in (1, 2) for model in catalog.models]
    return catalog._replace(models=(*catalog.models, *copies))


def _random_machine(rng: random.Random) -> HardwareSnapshot:
    cpu = CpuInfo("test CPU", "x86_64", 8, 16, ("AVX2", "FMA"), inference_threads=8)
    base = HardwareSnapshot(cpu=cpu, memory=MemoryInfo(4 * GIB, 4 * GIB, 0, 0), disk=None,
                            gpus=(), os="Linux")
    ram = rng.choice((8, 16, 32, 64, 128, 256)) * GIB
    kind = rng.choice(("cpu", "gpu", "unified"))
    if kind == "cpu":
        return apply_overrides(base, HardwareOverrides(ram_bytes=ram))
    if kind == "unified":
        return apply_overrides(base, HardwareOverrides(ram_bytes=ram, unified_memory=True,
                                                       gpu_name="Apple M2 Pro"))
    vram = (rng.choice((6, 8, 12, 16, 24, 48, 80)) * GIB,)
    return apply_overrides(base, HardwareOverrides(ram_bytes=ram, vram_bytes=vram,
                                                   gpu_name=rng.choice(("RTX 3090", "A100 80GB PCIe"))))


class _PlannedAfresh(engine.PlannedOutcomes):
    """The reference: every model planned afresh, nothing reused."""

    def outcome(self, model: Model, context: int,
                last: tuple[int, float] | None = None) -> engine.Recommendation | str | None:
        return engine._rank_with_projector(self.run, model, context)


def _everything(result: RankResult) -> list[object]:
    """All of a ranking that reaches the output, recommendations in full."""
    return [result.excluded, result.warnings,
            [(r.model, r.candidate, r.quality, r.speed, r.components, r.score, r.runtime_settings,
              r.retention, r.notes, r.quant_reason) for r in result.recommendations]]


@pytest.mark.parametrize("seed", range(6))
def test_an_outcome_reused_is_the_outcome_planned_afresh(copied: Catalog, seed: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    snapshot = _random_machine(rng)
    options = RankOptions(use_case=rng.choice(sorted(USE_CASES)),
                          limit=rng.choice((None, 3, 10, 40)),
                          context=rng.choice((None, None, 32768)),
                          min_tokens_per_second=rng.choice((1.0, 5.0, 15.0)),
                          max_download_bytes=rng.choice((None, None, 20 * GIB)))
    reused = recommend(snapshot, copied, options, CPU_BANDWIDTH)
    monkeypatch.setattr(engine, "PlannedOutcomes", _PlannedAfresh)
    afresh = recommend(snapshot, copied, options, CPU_BANDWIDTH)
    assert _everything(reused) == _everything(afresh)
    assert any(r.model.id.endswith(("-copy1", "-copy2")) for r in reused.recommendations) or \
        not reused.recommendations or options.limit is not None


def test_each_set_of_planning_inputs_is_planned_once(copied: Catalog,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    planned: list[str] = []
    outcome, rank_model = engine.PlannedOutcomes.outcome, engine._rank_model

    def asked_for(self: engine.PlannedOutcomes, model: Model, context: int,
                  last: tuple[int, float] | None = None) -> engine.Recommendation | str | None:
        asked.append(model.id)
        return outcome(self, model, context, last)

    def counted(run: engine._Run, model: Model, context: int) -> engine.Recommendation | str:
        planned.append(model.id)
        return rank_model(run, model, context)

    monkeypatch.setattr(engine.PlannedOutcomes, "outcome", asked_for)
    monkeypatch.setattr(engine, "_rank_model", counted)
    snapshot = apply_overrides(_random_machine(random.Random(1)),
                               HardwareOverrides(ram_bytes=64 * GIB, vram_bytes=(24 * GIB,),
                                                 gpu_name="RTX 3090"))
    recommend(snapshot, copied, RankOptions(limit=None), CPU_BANDWIDTH)
    references = References(copied)
    quality = {m.id: base_quality(m, USE_CASES["general"], references) for m in copied.models}
    assert len(planned) == len(set(planned)) and set(planned) <= set(asked)
    by_id = {m.id: m for m in copied.models}
    first_with: dict[object, str] = {}
    for model_id in asked:
        model = by_id[model_id]
        inputs = (engine.planning_inputs(model), quality[model_id].level, quality[model_id].raw)
        first = first_with.setdefault(inputs, model_id)
        if first == model_id:
            assert model_id in planned  # the first of its kind is planned
        elif quality[first] == quality[model_id]:
            assert model_id not in planned  # alike in every input: the first one's outcome
    # About 3 in 7 copies are alike in every input: a quarter of the copies at least are reused.
    assert len(asked) - len(planned) > (len(copied.models) * 2 // 3) // 4
