"""Quality for a use case: published benchmarks, compared like with like, with the
quantization's published loss applied.

Only published numbers are used, and a score is compared only with scores of the same
test (`comparable`: MMLU-Redux is not MMLU, LiveCodeBench v3 is not v6, a SWE-bench run
through the maker's own scaffold is not one through OpenHands) in the same setting (a base
model's 5-shot run is not an instruct model's). Each score counts as a fraction of the
best score an open catalog model has published on its yardstick (for multiple-choice
tests, of the way from chance to that best: `CHANCE`): its own group, where instruct and
thinking runs share one (`ScoreGroup.yardstick`, the stated conversion between them); a
yardstick with fewer than MIN_PEERS models is too small to say what "best" is, so such a
score is compared with every setting, release and scaffold of its test, the explanation
says that this comparison crosses settings, and it counts as half the evidence
(`CROSSING_EVIDENCE`).

The best of a few models says less than the best of many: a fraction measured against n
models counts as n / (n + 1) of itself and 1 / (n + 1) of one half (`TRUST_PEERS`), so a
model at the top of a four-model test does not outrank one at the top of twenty.

A use case weighs a few benchmarks; newer tests that measure the same thing stand in for
an older one the model's card does not report (MMLU-Redux / MMLU-Pro for MMLU,
LiveCodeBench / SWE-bench Verified for HumanEval, AIME and HMMT for MATH, IFBench for IFEval,
MultiChallenge for MT-Bench), each still as a fraction of the best in its own group. The
weight of what a model has not published is not dropped (one narrow score would then decide
alone): it is predicted (`_predicted`). The prior is the lower quartile of the model's size
peers on that benchmark (`SIZE_PEER_SPAN`: the catalog-wide quartile sat above what small
models measure, so a small model that published one favourable number was counted as a
larger one on the rest); for use cases other than general knowledge, half the prediction is
the model's general-knowledge quality (`PROXY_PREDICTION`), for general knowledge the lower
of its own mean and the prior. The explanation says how much of the weight is predicted and
how. A saturated or overfit test is weaker evidence (`usecases.WEAK_EVIDENCE`: HumanEval
after the LiveCodeBench paper; MATH, MATH-500, GSM8K and AIME 2024 after MathArena; IFEval
after the IFBench paper; MT-Bench after the Arena-Hard paper): it covers only its share of
the benchmark's weight (half), the rest predicted, and it counts at most at its size peers'
lower quartile (it can show that a model is weak, not that it is strong). Every model with
any comparable benchmark, the use case's own or the proxy's, ranks on one scale
(`ranking_tier`; `level` says which basis it has), so a model's own weak evidence no longer
outranks a strong proxy by rule; one without any benchmark gets no quality number at all.

Quantization loss: llama.cpp's scoreboard publishes each quant type's mean KL
divergence from the 16-bit model (catalog/quant_types.toml, Llama-3-8B). Benchmark
accuracy falls with it; picker applies retained = exp(-0.4 x KLD), a heuristic set by
eye against published MMLU drops of quantized Llama 3 8B: Q4_K_M (KLD 0.031) keeps
~98.8 %, Q3_K_M (0.10) ~96 %, Q2_K (0.45) ~84 %, IQ1_S (2.25) ~41 %. Where only the perplexity increase is
published, KLD is taken as 0.13 x that increase (the ratio of the two on the K-quants).
"""

import math
from typing import NamedTuple

from picker.catalog.types import BenchmarkScore, Catalog, Model, QuantType
from picker.rank.comparable import POST_TRAINED, ScoreGroup, score_group
from picker.rank.usecases import ALTERNATIVES, USE_CASES, WEAK_EVIDENCE, UseCase, normalise

KLD_TO_LOSS = 0.4
PPL_TO_KLD = 0.13
NO_LOSS_TYPES = {"F32": "32-bit: no quantization", "F16": "16-bit: no quantization",
                 "BF16": "16-bit: no quantization",
                 "MXFP4_MOE": "MXFP4 is the format the model was released in"}
MIN_PEERS = 3  # models in a setting before its best score is a fair yardstick
# Being the best of 3 says less than being the best of 20: a fraction measured against n
# models counts as n / (n + TRUST_PEERS) of itself and the rest as UNTRUSTED (half the best):
# the best of 3 counts 0.875, of 20 0.976. (3 instead of 1 favoured models whose cards report
# common old settings, such as base-model MMLU, over newer ones: 1 is the mildest that keeps
# a best-of-4 LiveCodeBench from outranking a best-of-20 HumanEval.)
TRUST_PEERS = 1
UNTRUSTED = 0.5
# A score compared outside its own setting (its group has under MIN_PEERS models, so the
# yardstick pools every mode, release or scaffold of its test) is weaker evidence: settings
# move scores far apart (in the catalog, SmolLM3's LiveCodeBench v4 is 15.2 without extended
# thinking and 30.0 with it; Qwen3-4B 2507's LiveCodeBench v6 35.1 instruct, 55.2 thinking).
# It covers this share of the benchmark's weight, as a saturated test does
# (usecases.WEAK_EVIDENCE); the rest counts as unpublished. The half is a stated choice.
CROSSING_EVIDENCE = (0.5, "compared across settings (too few catalog models share its own)")
PROXY_BENCHMARKS = (("humaneval", 0.5), ("math", 0.5), ("ifeval", 0.5))
# What a model has not published is predicted, not taken from the whole catalog: the catalog's
# lower quartile sat above what small models measure, so a 4B model that published one
# favourable number was counted as a mid-size one on everything else. The prior is the lower
# quartile of its size peers: catalog models whose total parameters are within SIZE_PEER_SPAN
# doublings of its own (size classes by powers of two), widened a doubling at a time until at
# least MIN_SIZE_PEERS models have published that benchmark. Lower quartile, not median:
# published evidence must outrank its absence. (Both numbers are stated choices.)
SIZE_PEER_SPAN = 1
MIN_SIZE_PEERS = 6
SIZE_CLASSES = range(-4, 13)  # 2^-4 B (62M) .. 2^12 B (4T): every class a quartile is kept for
# For a use case other than general knowledge, what the model has not published for it is
# predicted from its general-knowledge quality (the proxy below, which the chat and coding
# results of large catalogs follow) as much as from its size peers: this share of the
# prediction is the proxy, the rest the size peers' lower quartile. The use case's own
# evidence, weak or strong, counts in full for its strength (`_strength`); the prediction fills
# the rest. So a model's own evidence no longer outranks every proxy by rule: a small model
# that published only an overfit IFEval is weighed with what its general benchmarks say, beside
# a large one known from general benchmarks alone. Half is a stated choice, as the other halves.
PROXY_PREDICTION = 0.5
# Multiple-choice tests score this much by guessing (4 choices; MMLU-Pro has 10): a fraction
# is taken of the way from chance to the best score, so guessing counts as nothing.
CHANCE = {"mmlu": 0.25, "mmlu_redux": 0.25, "mmlu_pro": 0.10, "gpqa": 0.25,
          "gpqa_diamond": 0.25, "gpqa_main": 0.25}


class Retention(NamedTuple):
    factor: float  # fraction of the 16-bit benchmark score kept
    why: str


class ScoreUse(NamedTuple):
    """One published score as the ranking used it."""

    facet: str  # the use case's benchmark it counts for
    score: BenchmarkScore
    group: ScoreGroup
    fraction: float  # of the best score in its yardstick
    peers: int  # models in the yardstick
    crosses_settings: bool  # the yardstick pools every setting of the test
    credited: float = 0.0  # what the ranking counts: the fraction, trusted by the peers' number

    def to_dict(self) -> dict[str, object]:
        return {"benchmark": self.score.benchmark, "counts_for": self.facet,
                "score": self.score.score, "setting": self.score.setting,
                "source": self.score.source, "compared_as": self.group.label,
                "fraction_of_best": round(self.fraction, 3), "counted": round(self.credited, 3),
                "peers": self.peers, "evidence_strength": _strength(self),
                "crosses_settings": self.crosses_settings}


class Quality(NamedTuple):
    value: float | None  # 0..1 after quantization loss; None: no benchmark known
    raw: float | None  # before quantization loss
    level: int  # 2: the use case's benchmarks; 1: other benchmarks as a proxy; 0: none
    used: tuple[BenchmarkScore, ...]
    missing: tuple[str, ...]
    why: str
    known_share: float = 0.0  # of the use case's weight, what published scores cover
    detail: tuple[ScoreUse, ...] = ()


class References:
    """The yardsticks of one catalog: the best open-model score in every peer group and
    every test, and the median fraction per use-case benchmark (for what is unpublished)."""

    def __init__(self, catalog: Catalog) -> None:
        self.best: dict[ScoreGroup, float] = {}
        self.best_any: dict[str, float] = {}
        members: dict[ScoreGroup, set[str]] = {}
        members_any: dict[str, set[str]] = {}
        # (model id, benchmark) -> its scores as read; benchmark -> models that publish it
        self._read: dict[tuple[str, str], list[tuple[BenchmarkScore, ScoreGroup, float]]] = {}
        self._publishing: dict[str, set[str]] = {}
        best, best_any, read, publishing = self.best, self.best_any, self._read, self._publishing
        for model in catalog.models:
            model_id = model.id
            for score in model.benchmarks:
                group, value = score_group(score), normalise(score.benchmark, score.score)
                read.setdefault((model_id, score.benchmark), []).append((score, group, value))
                publishing.setdefault(score.benchmark, set()).add(model_id)
                yardstick = group.yardstick
                if value > best.get(yardstick, -1.0):
                    best[yardstick] = value
                family = group.family
                if value > best_any.get(family, -1.0):
                    best_any[family] = value
                members.setdefault(yardstick, set()).add(model_id)
                members_any.setdefault(family, set()).add(model_id)
        self.peers = {group: len(ids) for group, ids in members.items()}
        self.peers_any = {test: len(ids) for test, ids in members_any.items()}
        self.models = catalog.models
        self._catalog_models = {model.id: model for model in catalog.models}
        self._quartiles: dict[str, float] = {}
        self._published: dict[str, list[tuple[int, float]]] = {}
        self._facets: dict[tuple[str, str], tuple[float | None, list[ScoreUse],
                                                   list[BenchmarkScore]]] = {}

    @classmethod
    def restored(cls, catalog: Catalog, best: dict[ScoreGroup, float], best_any: dict[str, float],
                 peers: dict[ScoreGroup, int], peers_any: dict[str, int],
                 quartiles: dict[str, float]) -> "References":
        """The yardsticks as `yardsticks()` gave them for this catalog (`quality_table` keeps
        them between runs): no pass over every score. Each model's scores are read when it is
        asked about, and `quartiles` must hold every facet `quality_facets` names."""
        refs = cls.__new__(cls)
        refs.best, refs.best_any, refs.peers, refs.peers_any = best, best_any, peers, peers_any
        refs.models = catalog.models
        refs._catalog_models, refs._read, refs._publishing = {}, {}, {}
        refs._quartiles = dict(quartiles)
        refs._facets = {}
        refs._published = {}
        return refs

    def yardsticks(self, facets: tuple[str, ...]) -> tuple[
            dict[ScoreGroup, float], dict[str, float], dict[ScoreGroup, int], dict[str, int],
            dict[str, float]]:
        """What `restored` takes: the best and peers per group and test, and the lower
        quartile of every one of `facets` in every size class."""
        quartiles = {_quartile_key(facet, size): self.unknown_value(facet, size)
                     for facet in facets for size in SIZE_CLASSES}
        return self.best, self.best_any, self.peers, self.peers_any, quartiles

    def _yardstick(self, score: BenchmarkScore, group: ScoreGroup, value: float,
                   facet: str = "") -> ScoreUse | None:
        yardstick = group.yardstick
        if self.peers.get(yardstick, 0) >= MIN_PEERS:
            best, peers, crosses = self.best[yardstick], self.peers[yardstick], False
        elif self.peers_any.get(group.family, 0) >= MIN_PEERS:
            best, peers, crosses = self.best_any[group.family], self.peers_any[group.family], True
        else:
            return None
        chance = CHANCE.get(group.test, 0.0)
        fraction = (value - chance) / (best - chance) if best > chance else 0.0
        fraction = min(1.0, max(0.0, fraction))
        credited = (peers * fraction + TRUST_PEERS * UNTRUSTED) / (peers + TRUST_PEERS)
        return ScoreUse(facet, score, group, fraction, peers, crosses, credited)

    def use(self, facet: str, score: BenchmarkScore) -> ScoreUse | None:
        """The score against its yardstick; None when even every setting of its test holds
        fewer than MIN_PEERS models (nothing fair to compare it with)."""
        return self._yardstick(score, score_group(score), normalise(score.benchmark, score.score),
                               facet)

    def scores_of(self, model: Model, benchmark: str) -> list[tuple[BenchmarkScore, ScoreGroup, float]]:
        """The model's scores on one benchmark, each with its group and 0..1 value (read once
        for the catalog's own models; a model from elsewhere is read now)."""
        if self._catalog_models.get(model.id) is model:
            return self._read.get((model.id, benchmark), [])
        return [(score, score_group(score), normalise(score.benchmark, score.score))
                for score in model.benchmarks if score.benchmark == benchmark]

    def unknown_value(self, facet: str, size: int) -> float:
        """The lower quartile (linear interpolation) of the fractions that the model's size
        peers (`SIZE_PEER_SPAN`, `size_class`) reach on a use-case benchmark (with its
        stand-ins): what a model of that size that has not published it is counted at, so that
        published evidence outranks its absence."""
        key = _quartile_key(facet, size)
        if key not in self._quartiles:
            published = self._published_values(facet)
            span = SIZE_PEER_SPAN
            values = [value for peer, value in published if abs(peer - size) <= span]
            while len(values) < min(MIN_SIZE_PEERS, len(published)):
                span += 1
                values = [value for peer, value in published if abs(peer - size) <= span]
            self._quartiles[key] = _lower_quartile(sorted(values)) if values else 0.5
        return self._quartiles[key]

    def _published_values(self, facet: str) -> list[tuple[int, float]]:
        """(size class, fraction) of every catalog model that published the benchmark."""
        if facet not in self._published:
            publishing: set[str] = set()
            for name in (facet, *ALTERNATIVES.get(facet, ())):
                publishing |= self._publishing.get(name, set())
            self._published[facet] = [
                (size_class(model), value) for model in self.models if model.id in publishing
                and (value := facet_value(model, facet, self)[0]) is not None]
        return self._published[facet]


def _quartile_key(facet: str, size: int) -> str:
    return f"{facet}@{size}"


def _lower_quartile(values: list[float]) -> float:
    position = (len(values) - 1) * 0.25
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def size_class(model: Model) -> int:
    """The model's size class: total parameters rounded to a power of two (0: ~1B, 5: ~32B)."""
    billions = max(model.parameters, 1) / 1e9
    return max(SIZE_CLASSES[0], min(SIZE_CLASSES[-1], round(math.log2(billions))))


def ranking_tier(level: int) -> int:
    """The first key the ranking sorts on: every model with comparable evidence (the use
    case's own or the proxy's) on one scale (`PROXY_PREDICTION`), a model with none after."""
    return 1 if level else 0


def retention(quant: str, quant_types: dict[str, QuantType]) -> Retention:
    """How much benchmark quality a quant type keeps, from its published KL divergence."""
    name = quant.upper()
    if name in NO_LOSS_TYPES:
        return Retention(1.0, NO_LOSS_TYPES[name])
    info = quant_types.get(name)
    if info is None or (info.kld is None and info.ppl_delta is None):
        return Retention(1.0, f"no published quality loss for {name}: none applied")
    if info.kld is not None:
        kld, basis = info.kld, f"KLD {info.kld:.3f}"
    else:
        kld = PPL_TO_KLD * (info.ppl_delta or 0.0)
        basis = f"perplexity +{info.ppl_delta:.2f} (KLD taken as {kld:.3f})"
    factor = math.exp(-KLD_TO_LOSS * kld)
    return Retention(factor, f"{name} keeps ~{factor * 100:.1f} % ({basis} on {info.reference_model})")


def best_score(model: Model, benchmark: str) -> BenchmarkScore | None:
    """The publisher's figure when there is one, else the source document's."""
    scores = [score for score in model.benchmarks if score.benchmark == benchmark]
    if not scores:
        return None
    published = [score for score in scores if score.source != "seed"]
    return (published or scores)[0]


def quality_facets(use_case: UseCase) -> tuple[str, ...]:
    """Every use-case benchmark `base_quality` may count for this use case (its own, and the
    proxy's where a model has none of them): the lower quartiles it can ask for."""
    names = [name for name, _ in (*use_case.benchmarks, *USE_CASES["general"].benchmarks,
                                  *PROXY_BENCHMARKS)]
    return tuple(dict.fromkeys(names))


def best_known(catalog: Catalog) -> References:
    """The yardsticks the ranking compares scores with (see `References`)."""
    return References(catalog)


def _preference(use: ScoreUse) -> tuple[bool, bool, float]:
    """Of one test's scores: a publisher's figure over the source document's, the model as it
    is run over its base model, then the better fraction (thinking or not)."""
    return (use.group.mode != "approximate", use.group.mode != "base", use.credited)


def _weakness(use: ScoreUse) -> tuple[float, str] | None:
    """Why the score is weaker evidence, with the share it carries (None: full evidence): a
    saturated test (`usecases.WEAK_EVIDENCE`), or a comparison that crosses settings
    (`CROSSING_EVIDENCE`), the weaker of the two where both hold."""
    weak = WEAK_EVIDENCE.get(use.group.test)
    if use.crosses_settings and (weak is None or CROSSING_EVIDENCE[0] < weak[0]):
        return CROSSING_EVIDENCE
    return weak


def _strength(use: ScoreUse) -> float:
    """How much evidence the score is (`_weakness`; 1: full)."""
    weak = _weakness(use)
    return 1.0 if weak is None else weak[0]


def facet_value(model: Model, facet: str, refs: References,
                set_aside: list[BenchmarkScore] | None = None) -> tuple[float | None, list[ScoreUse]]:
    """The model's fraction on one use-case benchmark: the mean over the tests it has
    published of it and its stand-ins, one score (the preferred) per test, each weighed by
    how much evidence its test is (`_strength`). Scores with
    nothing fair to compare them with go to `set_aside`. (Kept per model and facet: the
    size peers' lower quartiles read every model's.)"""
    key = (model.id, facet)
    known = refs._facets.get(key)
    if known is None:
        tests: dict[str, ScoreUse] = {}
        aside: list[BenchmarkScore] = []
        for name in (facet, *ALTERNATIVES.get(facet, ())):
            for score, group, read in refs.scores_of(model, name):
                use = refs._yardstick(score, group, read, facet)
                if use is None:
                    aside.append(score)
                    continue
                kept = tests.get(use.group.test)
                if kept is None or _preference(use) > _preference(kept):
                    tests[use.group.test] = use
        if tests:  # most (model, benchmark) pairs have no score at all: nothing to sort
            chosen = sorted(tests.values(), key=lambda use: (use.score.benchmark != facet, use.group.test))
            strengths = [_strength(use) for use in chosen]
            known = (sum(strength * use.credited for strength, use in zip(strengths, chosen, strict=True))
                     / sum(strengths), chosen, aside)
        else:
            known = (None, [], aside)
        refs._facets[key] = known
    value, chosen, aside = known
    if aside and set_aside is not None:
        set_aside.extend(aside)
    return value, list(chosen)


def _describe(detail: list[ScoreUse]) -> str:
    parts = []
    for use in detail:
        runs = " instruct or thinking runs" if use.group.yardstick.mode == POST_TRAINED else ""
        text = (f"{use.score.benchmark} {use.score.score:g} ({use.group.label}: "
                f"{use.fraction * 100:.0f} % of the best of {use.peers}{runs}, counted "
                f"{use.credited * 100:.0f} %")
        if use.crosses_settings:
            pool = "setting" if use.group.family == use.group.test else "setting, release or scaffold"
            text += f" in any {pool}; crosses settings, as under {MIN_PEERS} models have this one"
        text += ")"
        if use.score.benchmark != use.facet or use.group.test in ALTERNATIVES.get(use.facet, ()):
            text += f" in place of {use.facet}"
        parts.append(text)
    return ", ".join(parts)


def _saturated_capped(facet: str, value: float, uses: list[ScoreUse],
                      refs: References, size: int) -> tuple[float, list[ScoreUse]]:
    """A saturated test (`usecases.WEAK_EVIDENCE`) can show that a model is weak, not that it
    is strong: each such score counts at most at its size peers' lower quartile for the facet
    (`References.unknown_value`), and the facet's mean is taken again with it."""
    cap = None
    capped = []
    for use in uses:
        if use.group.test in WEAK_EVIDENCE:
            cap = refs.unknown_value(facet, size) if cap is None else cap
            if use.credited > cap:
                use = use._replace(credited=cap)
        capped.append(use)
    if cap is None:
        return value, uses
    strengths = [_strength(use) for use in capped]
    return (sum(strength * use.credited for strength, use in zip(strengths, capped, strict=True))
            / sum(strengths), capped)


# _weighted's answer: (value, scores used, use-case benchmarks without a comparable score,
# the share of the weight published, scores set aside, unpublished benchmark -> the
# fraction it counts at, benchmark known only from weak evidence -> that evidence's
# strength). A plain tuple: a NamedTuple class costs import time on every run.
_Weighted = tuple[float | None, list[ScoreUse], list[str], float, list[BenchmarkScore],
                  dict[str, float], dict[str, float]]


def _weighted(model: Model, weights: tuple[tuple[str, float], ...], refs: References,
              prior: bool, proxy: float | None = None) -> _Weighted:
    """The weighted mean; with `prior`, what is unpublished is not left out but predicted
    (`_predicted`): from `proxy` (the model's general-knowledge quality) and its size peers'
    lower quartile where a proxy is given, else at the lower of the model's own mean and that
    quartile: never more than the evidence says, and a narrow top score cannot carry the rest.
    A benchmark known only from weak evidence (`_strength` under 1) is known for that share of
    its weight; the rest counts as unpublished."""
    total = weight_sum = known = 0.0
    detail: list[ScoreUse] = []
    missing: list[str] = []
    set_aside: list[BenchmarkScore] = []
    weak: dict[str, float] = {}
    size = size_class(model)
    for name, weight in weights:
        value, uses = facet_value(model, name, refs, set_aside)
        weight_sum += weight
        if value is None:
            missing.append(name)
            continue
        if prior:
            value, uses = _saturated_capped(name, value, uses, refs, size)
        strength = max(_strength(use) for use in uses)
        if strength < 1.0:
            weak[name] = strength
        detail += uses
        total += weight * strength * value
        known += weight * strength
    if not known and proxy is None:
        return None, [], missing, 0.0, set_aside, {}, {}
    own = total / known if known else None
    if not prior:
        return own, detail, missing, known / weight_sum, set_aside, {}, weak
    counted = {name: _predicted(name, own, proxy, refs, size) for name in (*missing, *weak)}
    total += sum(weight * (1.0 - weak.get(name, 0.0)) * counted[name]
                 for name, weight in weights if name in counted)
    return total / weight_sum, detail, missing, known / weight_sum, set_aside, counted, weak


def _predicted(facet: str, own: float | None, proxy: float | None, refs: References,
               size: int) -> float:
    """What an unpublished use-case benchmark counts at: with a proxy, `PROXY_PREDICTION` of
    it and the rest the size peers' lower quartile; without one, the lower of the model's own
    mean and that quartile."""
    quartile = refs.unknown_value(facet, size)
    if proxy is not None:
        return PROXY_PREDICTION * proxy + (1.0 - PROXY_PREDICTION) * quartile
    return quartile if own is None else min(own, quartile)


def _unknown_words(share: float, missing: list[str], weak: dict[str, float],
                   counted: dict[str, float], detail: list[ScoreUse],
                   proxy: float | None = None) -> str:
    """What part of the weight is unknown and why: benchmarks not published, and those known
    only from a weak test (named with the reason it is weak)."""
    reasons = [f"{', '.join(missing)} not published"] if missing else []
    for name, strength in weak.items():
        uses = [use for use in detail if use.facet == name]
        groups = {use.group.test: use.group for use in uses}
        why = "; ".join(dict.fromkeys(reason[1] for use in uses if (reason := _weakness(use))))
        label = ", ".join(group.test_title for group in groups.values())
        named = "" if name in groups else f" for {name}"
        reasons.append(f"{label} only{named}: {why}, counted as {strength * 100:.0f} % known")
    words = ", ".join(f"{name} {fraction * 100:.0f} %" for name, fraction in counted.items())
    rule = ("the lower of its own mean and its size peers' lower quartile" if proxy is None else
            f"a prediction: {PROXY_PREDICTION * 100:.0f} % its general-knowledge quality "
            f"({proxy * 100:.0f} %), the rest its size peers' lower quartile")
    return (f"; {(1 - share) * 100:.0f} % of the weight unknown ({'; '.join(reasons)}), counted "
            f"at {rule} ({words})")


def _set_aside_words(scores: list[BenchmarkScore]) -> str:
    if not scores:
        return ""
    listed = ", ".join(f"{score.benchmark} {score.score:g}" for score in scores)
    return (f"; set aside: {listed} (fewer than {MIN_PEERS} catalog models publish that test, "
            "so nothing fair to compare with)")


def _proxy(model: Model, refs: References, broad: bool = False) -> tuple[float | None, list[ScoreUse],
                                                                      float]:
    """The model's general-knowledge quality (value, scores, share of the weight published),
    what an unpublished use-case benchmark is predicted from; `broad`, or where it has no
    general benchmark, with coding, math and IFEval beside them (`PROXY_BENCHMARKS`)."""
    general = USE_CASES["general"].benchmarks
    if not broad:
        value, detail, _, share, _, _, _ = _weighted(model, general, refs, prior=True)
        if value is not None:
            return value, detail, share
    # One narrow score cannot carry the proxy either.
    value, detail, _, share, _, _, _ = _weighted(model, (*general, *PROXY_BENCHMARKS), refs,
                                                 prior=True)
    return value, detail, share


def base_quality(model: Model, use_case: UseCase, refs: References) -> Quality:
    """The model's 16-bit quality for the use case (the same for every quant of it): the
    weighted mean of its fractions of the best comparable score, so a hard benchmark such
    as GPQA and an easy one such as MMLU weigh alike; what it has not published predicted
    (`_predicted`: for use cases other than general knowledge, half from its general-knowledge
    quality, `PROXY_PREDICTION`)."""
    general = use_case.benchmarks == USE_CASES["general"].benchmarks
    proxy, proxy_detail, proxy_share = (None, [], 0.0) if general else _proxy(model, refs)
    value, detail, missing, share, set_aside, counted, weak = _weighted(
        model, use_case.benchmarks, refs, prior=True, proxy=proxy)
    level = 2
    weak_only = ""
    if detail and all(use.group.test in WEAK_EVIDENCE for use in detail):
        # Known for the use case only from saturated or overfit tests, which count at most at
        # the size peers' lower quartile and so cannot show it is better than others: its
        # basis is the proxy's (the prediction fills the rest of the weight).
        weak_only = "; ".join(dict.fromkeys(
            f"{use.group.test_title}: {WEAK_EVIDENCE[use.group.test][1]}" for use in detail))
        level = 1
    if not detail:
        if general:
            proxy, proxy_detail, proxy_share = _proxy(model, refs, broad=True)
            if proxy is not None:
                value, _, missing, share, _, counted, weak = _weighted(
                    model, use_case.benchmarks, refs, prior=True, proxy=proxy)
        level = 1 if proxy is not None else 0
    if value is None or not level:
        return Quality(None, None, 0, (), tuple(missing),
                       "no published benchmark in the catalog that can be compared: quality unknown, "
                       "listed after models with benchmarks" + _set_aside_words(set_aside))
    if detail:
        why = _describe(detail)
        if weak_only:
            why = f"only weak evidence for {use_case.title} ({weak_only}): {why}"
        if missing or weak:
            why += _unknown_words(share, missing, weak, counted, detail, proxy)
    else:
        words = ", ".join(f"{name} {fraction * 100:.0f} %" for name, fraction in counted.items())
        why = (f"no {use_case.title} benchmark published; predicted: "
               f"{PROXY_PREDICTION * 100:.0f} % its general-knowledge quality "
               f"({(proxy or 0.0) * 100:.0f} %) and the rest its size peers' lower quartile ({words})")
    if proxy is not None and (not detail or missing or weak):
        why += (f"; general-knowledge quality from {_describe(proxy_detail)}, "
                f"{proxy_share * 100:.0f} % of its weight published (the rest counted at the lower "
                "of its own mean and its size peers' lower quartile)")
    why += _set_aside_words(set_aside)
    if use_case.proxy_note and level == 2:
        why += f"; {use_case.proxy_note}"
    used = tuple(use.score for use in detail) or tuple(use.score for use in proxy_detail)
    return Quality(value, value, level, used, tuple(missing), why, share,
                   tuple(detail) or tuple(proxy_detail))


def with_retention(base: Quality, kept: Retention) -> Quality:
    """The base quality with a quant's loss applied."""
    if base.raw is None:
        return base
    return base._replace(value=base.raw * kept.factor, why=f"{base.why}; {kept.why}")


def model_quality(model: Model, use_case: UseCase, kept: Retention, refs: References) -> Quality:
    """`base_quality` times the quant's retention."""
    return with_retention(base_quality(model, use_case, refs), kept)
