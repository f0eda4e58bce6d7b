"""Rank the catalog for one machine and one use case.

For every catalog model that passes the filters, a few fitting quantizations are
planned by the fit engine at the use case's context (never the full trained context
unless asked), each gets a speed estimate (or the history's measurement) and a score,
and the model's best-scoring quant becomes its recommendation. Models with the use
case's benchmarks come first, then models ranked on other benchmarks (labelled), then
models without any benchmark.
"""

import heapq
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from picker.catalog.facts import ModelFacts, model_facts
from picker.catalog.types import Catalog, Model, Quantization
from picker.hardware.model import HardwareSnapshot
from picker.memory.machine import Machine, machine_from_snapshot
from picker.memory.shape import ModelShape
from picker.rank import score as scoring
from picker.rank.candidates import (
    Candidate,
    cpu_only_load,
    device_loads,
    experts_on_cpu,
    iter_candidates,
    kv_bytes_per_token,
    on_gpu_order,
    plan_device_ids,
    read_bytes_lower_bound,
    whole_on_gpus,
)
from picker.rank.projectors import with_projector
from picker.rank.quality import (
    Quality,
    References,
    Retention,
    base_quality,
    ranking_tier,
    retention,
    with_retention,
)
from picker.rank.quality_table import QueueBound, prepared
from picker.rank.quant_policy import FLOOR_QUANT, choose_quant, near_floor, too_lossy
from picker.rank.usecases import DEFAULT_USE_CASE, USE_CASES, UseCase, planned_context
from picker.speed.cpu_bandwidth import CpuBandwidth
from picker.speed.estimate import DeviceBandwidth, SpeedEstimate, estimate_speed, machine_bandwidths

CLOSE_SCORE = 0.5  # score points within which the smaller download is preferred
SMALL_FOR_TOOLS = 20e9  # active parameters under which the tool-use caveat is repeated


class MeasuredLookup(Protocol):
    """Speeds measured on this machine (the history), by model file and runtime settings."""

    def __call__(self, model: Model, candidate: Candidate,
                 settings: Mapping[str, object]) -> tuple[float, float | None, str] | None:
        """(generation tokens/s, prompt tokens/s, where from) for this file and settings."""

    def covers(self, model: Model, quant: Quantization) -> bool:
        """Whether any measurement of this quant's file exists (with any settings)."""


class RankOptions(NamedTuple):
    use_case: str = DEFAULT_USE_CASE
    context: int | None = None  # None: the use case's default
    limit: int | None = 10  # None: every model that fits
    min_tokens_per_second: float = scoring.DEFAULT_MIN_TOKENS_PER_SECOND
    commercial_only: bool = False
    capabilities: tuple[str, ...] = ()
    max_download_bytes: int | None = None
    tokens_per_month: int | None = None
    usd_per_kwh: float | None = None
    only_quants: frozenset[tuple[str, str]] | None = None  # (model id, QUANT): e.g. on disk

    def settings_dict(self, use_case: UseCase) -> dict[str, object]:
        return {
            "use_case": use_case.key,
            "use_case_title": use_case.title,
            "benchmarks": {name: weight for name, weight in use_case.benchmarks},
            "context": self.context or use_case.default_context,
            "context_source": "--ctx" if self.context else "the use case's default",
            "limit": self.limit,
            "on_disk_only": self.only_quants is not None,
            "min_tokens_per_second": self.min_tokens_per_second,
            "commercial_only": self.commercial_only,
            "capabilities": list(self.capabilities) + ([use_case.capability]
                                                       if use_case.capability else []),
            "max_download_bytes": self.max_download_bytes,
            "tokens_per_month": self.tokens_per_month,
            "usd_per_kwh": self.usd_per_kwh,
            "score_weights": dict(scoring.WEIGHTS),
        }


class Recommendation(NamedTuple):
    model: Model
    candidate: Candidate
    quality: Quality
    speed: SpeedEstimate
    components: dict[str, scoring.Component]
    score: float
    runtime_settings: dict[str, Any]
    retention: float = 1.0  # fraction of 16-bit quality this quant keeps
    notes: tuple[str, ...] = ()
    quant_reason: str = ""  # why this quant of the model (`quant_policy`)

    @property
    def sort_key(self) -> tuple[int, float]:
        return (ranking_tier(self.quality.level), self.score)


class RankResult(NamedTuple):
    use_case: UseCase
    options: RankOptions
    recommendations: tuple[Recommendation, ...]
    bandwidths: dict[str, DeviceBandwidth]
    excluded: dict[str, list[str]]  # reason -> model ids
    warnings: tuple[str, ...] = ()


def _wanted_capabilities(use_case: UseCase, options: RankOptions) -> frozenset[str]:
    return frozenset(options.capabilities) | ({use_case.capability} if use_case.capability else set())


def _filter_reason(facts: ModelFacts, use_case: UseCase, options: RankOptions, context: int,
                   wanted: frozenset[str]) -> str | None:
    """Why the model is left out before any plan (`wanted`: `_wanted_capabilities`, worked out
    once per ranking), or None. Its facts only: a large catalog's copy answers them from its
    index, without decoding the record."""
    if not facts.runnable:
        return "no GGUF llama.cpp can run"
    if options.commercial_only and not facts.commercial:
        return "license does not allow commercial use"
    if wanted and not wanted.issubset(facts.capabilities):
        return f"lacks capability {', '.join(sorted(wanted.difference(facts.capabilities)))}"
    trained = facts.trained_context
    if use_case.min_trained_context and trained < use_case.min_trained_context:
        return f"trained context under {use_case.min_trained_context:,} tokens"
    if trained and options.context and options.context > trained:
        # an asked context the model was never trained for: it cannot do the job asked
        # (`context` is already cut to the trained length, so it cannot tell)
        return "trained context shorter than --ctx"
    return None


def _runtime_settings(candidate: Candidate, threads: int | None) -> dict[str, object]:
    """What `picker smoke` loads with for this plan (the history's settings key)."""
    settings = candidate.plan.settings
    runtime = {"n_gpu_layers": candidate.plan.gpu_layers, "n_ctx": settings.n_ctx,
               "n_batch": settings.n_batch, "n_ubatch": settings.n_ubatch,
               "flash_attn": settings.flash_attn, "type_k": settings.type_k,
               "type_v": settings.type_v, "n_threads": threads}
    if experts_on_cpu(candidate.plan):  # llama-server's; picker's smoke cannot load it so
        runtime["n_cpu_moe"] = experts_on_cpu(candidate.plan)
    return runtime


def _approximate_max_context(candidate: Candidate) -> int:
    """Context that would still fit: the tightest device's spare bytes over the bytes each
    extra token costs there (KV cache, plus the attention scores without flash attention)."""
    plan, shape = candidate.plan, candidate.shape
    cells = max(1, plan.effective.n_ctx)
    extra_tokens: float | None = None
    for device in plan.devices:
        if device.free_bytes is None or (device.kv_cache_bytes == 0 and device.layers == 0):
            continue
        per_token = device.kv_cache_bytes / cells
        if not plan.settings.flash_attn and device.layers:
            per_token += 4 * plan.effective.n_ubatch * max(shape.n_head, default=0)
        if per_token <= 0:
            continue
        spare = (device.free_bytes - device.total_bytes) / per_token
        extra_tokens = spare if extra_tokens is None else min(extra_tokens, spare)
    trained = shape.n_ctx_train or candidate.context
    if extra_tokens is None:
        return trained
    return int(min(trained, candidate.context + max(0.0, extra_tokens)) // 256 * 256)


def _evaluate(model: Model, candidate: Candidate, quality: Quality, kept: Retention,
              bandwidths: dict[str, DeviceBandwidth], device_ids: dict[str, str],
              threads: int | None, measured: MeasuredLookup | None,
              comfortable_tokens_per_second: float) -> Recommendation:
    active = model.active_parameters / model.parameters if model.parameters else 1.0
    loads = device_loads(candidate, active, device_ids)
    speed = estimate_speed(loads, bandwidths, model.active_parameters, candidate.context,
                           candidate.quant.type, model.parameters)
    settings = _runtime_settings(candidate, threads)
    # A smoke test (llama-cpp-python) cannot keep experts on the CPU: nothing measured it.
    found = measured(model, candidate, settings) if measured and "n_cpu_moe" not in settings \
        else None
    if found is not None:
        speed = speed._replace(measured_tokens_per_second=found[0], measured_source=found[2],
                        prompt_tokens_per_second=found[1] or speed.prompt_tokens_per_second)
    basis = "measured on this machine" if found else "estimated"
    trained = candidate.shape.n_ctx_train
    components = {
        "quality": scoring.Component(quality.value, None if quality.raw is None
                                     else round(quality.raw * 100, 1), quality.why),
        "speed": scoring.speed_component(speed.best_tokens_per_second, basis,
                                         candidate.plan.placement, comfortable_tokens_per_second,
                                         experts_on_cpu(candidate.plan)),
        "fit": scoring.fit_component(candidate.plan),
        "context": scoring.context_component(candidate.context,
                                             _approximate_max_context(candidate), trained,
                                             model.architecture.context_length),
    }
    return Recommendation(model, candidate, quality, speed, components,
                          scoring.combine(components), settings, kept.factor)


def _best_possible(base: tuple[int, float | None], kept: Retention, speed_score: float = 1.0,
                   context_score: float = 1.0) -> tuple[int, float]:
    """(ranking tier, the highest choice score a quant could get): its quality (level and
    16-bit value) and the given speed and context scores (upper bounds), a perfect fit."""
    level, raw = base
    value = None if raw is None else raw * kept.factor
    score = scoring.combine({
        "quality": scoring.Component(value, None, ""),
        "speed": scoring.Component(speed_score, None, ""),
        "fit": scoring.Component(1.0, None, ""),
        "context": scoring.Component(context_score, None, ""),
    })
    if raw is None:
        score += 100 * scoring.WEIGHTS["quality"] * (kept.factor - 1.0)
    return ranking_tier(level), score


def _context_score_bound(model: Model, context: int) -> float:
    """The context score's upper bound: the context that fits is at most the trained one."""
    trained = model.architecture.trained_context
    return min(1.0, trained / (1.5 * context)) if trained and context else 1.0


def queue_bound(model: Model, quality: tuple[int, float | None], context: int,
                kept: Callable[[Quantization], Retention]) -> tuple[int, float]:
    """A model's place in the planning queue: (ranking tier, the best score any of its quants
    could get; 100 without a level). It grows with the quant's retention alone (speed, fit and
    context are taken at their best), so the quant that keeps the most quality bounds it."""
    kept_most = max(model.quantizations, key=lambda q: kept(q).factor)
    level, score = _best_possible(quality, kept(kept_most), 1.0, _context_score_bound(model, context))
    return level, score if level else 100.0


def _speed_score_bound(tokens_per_second: float, comfortable_tokens_per_second: float) -> float:
    return scoring.speed_score(tokens_per_second, comfortable_tokens_per_second)


def choice_score(option: Recommendation) -> float:
    """The score, and for a model without benchmarks its quant's retention in quality's place
    (the quant choice still weighs quantization loss when the model's level is unknown)."""
    if option.quality.value is not None:
        return option.score
    return option.score + 100 * scoring.WEIGHTS["quality"] * (option.retention - 1.0)


def choose_by_score(options: list[Recommendation], close: float = CLOSE_SCORE) -> Recommendation:
    """The best-scoring quant; within `close` of it, the smallest download."""
    top = max(choice_score(option) for option in options)
    near = [option for option in options if choice_score(option) >= top - close]
    return min(near, key=lambda r: (-on_gpu_order(r.candidate.plan)[0],
                                    experts_on_cpu(r.candidate.plan), r.candidate.quant.size_bytes))


def _choose(options: list[Recommendation], floor: float = 0.0) -> Recommendation:
    """The quant `quant_policy` recommends, with its reason; `floor` is the retention of its
    floor quant (0: every quant competes on the score alone)."""
    chosen, reason = choose_quant(options, floor, CLOSE_SCORE)
    return chosen._replace(quant_reason=reason)


class _Run(NamedTuple):
    """What every model of one ranking shares."""

    use_case: UseCase
    options: RankOptions
    catalog: Catalog
    machine: Machine
    bandwidths: dict[str, DeviceBandwidth]
    device_ids: dict[str, str]
    threads: int | None
    best: References
    max_read: float | None
    measured: MeasuredLookup | None
    retentions: dict[str, Retention]  # caches, filled as the ranking goes
    qualities: dict[str, Quality]
    floor: float = 0.0  # retention of quant_policy.FLOOR_QUANT: quants below it need a gain
    # model id -> (quality level, 16-bit quality) as `quality` gives it, worked out ahead
    # (`quality_table`): the bounds read it instead of every model's whole quality.
    bounds: Mapping[str, tuple[int, float | None]] | None = None

    def retention(self, quant: Quantization) -> Retention:
        return _cached_retention(self.retentions, self.catalog, quant)

    def quality(self, model: Model) -> Quality:
        if model.id not in self.qualities:
            self.qualities[model.id] = base_quality(model, self.use_case, self.best)
        return self.qualities[model.id]

    def quality_bound(self, model: Model) -> tuple[int, float | None]:
        """The model's quality level and 16-bit value (what its score bound needs)."""
        known = self.bounds.get(model.id) if self.bounds is not None else None
        if known is not None:
            return known
        quality = self.quality(model)
        return quality.level, quality.raw

    def best_possible(self, model: Model, quant: Quantization, context: int,
                      tokens_per_second: float | None = None) -> tuple[int, float]:
        """The score bound of a quant; the context that fits is at most the trained one."""
        speed_score = 1.0 if tokens_per_second is None else _speed_score_bound(
            tokens_per_second, self.use_case.comfortable_tokens_per_second)
        return _best_possible(self.quality_bound(model), self.retention(quant), speed_score,
                              _context_score_bound(model, context))

    def measured_covers(self, model: Model, quant: Quantization) -> bool:
        """Whether this quant was measured here: its speed may beat any estimate, so the
        estimate cannot bound it (quants never measured are pruned as usual)."""
        return self.measured is not None and self.measured.covers(model, quant)

    def evaluate(self, model: Model, candidate: Candidate) -> Recommendation:
        kept = self.retention(candidate.quant)
        return _evaluate(model, candidate, with_retention(self.quality(model), kept), kept,
                         self.bandwidths, self.device_ids, self.threads, self.measured,
                         self.use_case.comfortable_tokens_per_second)


def _rank_model(run: _Run, model: Model, context: int) -> Recommendation | str:
    """The model's best quant for this run, or why it has none."""
    options = run.options
    too_slow = f"slower than {options.min_tokens_per_second:g} tokens/s"
    max_read = run.max_read  # per-token bytes no device reads fast enough; a measurement overrules
    if any(run.measured_covers(model, q) for q in model.quantizations):
        max_read = None
    if max_read is not None and not any(
            read_bytes_lower_bound(model, q) <= max_read for q in model.quantizations):
        return too_slow
    evaluated: list[Recommendation] = []
    fast: list[Recommendation] = []

    whole: list[bool] = []
    allowed = [q for q in model.quantizations if q.size_bytes > 0 and (
        options.max_download_bytes is None or q.size_bytes <= options.max_download_bytes)]

    def floor_fits_whole() -> bool:
        """Whether the smallest quant at or above the floor (or just under it, `near_floor`)
        fits entirely on the GPUs (then a quant keeping experts on the CPU can be displaced by
        one that does, see `quant_policy`); planned once, and only for a mixture of experts."""
        if not whole:
            kept = [q for q in allowed if run.retention(q).factor >= near_floor(run.floor)]
            smallest = min(kept, key=lambda q: q.size_bytes, default=None)
            whole.append(smallest is not None
                         and whole_on_gpus(model, smallest, context, run.machine) is not None)
        return whole[0]

    def bar() -> float | None:
        """The best score of a fast quant at or above the floor: below it, nothing can win
        (a lower quant must beat the floor's choice, see `quant_policy`). One with experts on
        the CPU sets no bar where a smaller quant at or above the floor fits entirely on the
        GPU: that one would displace it."""
        scores = [choice_score(r) for r in fast if r.retention >= run.floor and not (
            experts_on_cpu(r.candidate.plan) and floor_fits_whole())]
        return max(scores) if scores else None
    skipped_as_slow: list[Quantization] = []

    def not_worth_planning(quant: Quantization) -> bool:
        """At the settled placement a smaller file is at most proportionally faster (the KV
        cache and the per-token overhead do not shrink), so the last estimate bounds its speed,
        and with it its score: skip it when it cannot be fast enough or cannot win."""
        if run.measured_covers(model, quant) or not evaluated:
            return False
        last = evaluated[-1]
        ratio = read_bytes_lower_bound(model, last.candidate.quant) / max(
            1.0, read_bytes_lower_bound(model, quant))
        speed_bound = last.speed.tokens_per_second * ratio
        if speed_bound < options.min_tokens_per_second:
            skipped_as_slow.append(quant)
            return True
        best = bar()
        if best is None:
            return False
        return run.best_possible(model, quant, context, speed_bound)[1] < best - CLOSE_SCORE

    kv_per_token: list[float] = []
    cpu_bounds: dict[str, float] = {}

    def cpu_bound(quant: Quantization, shape: ModelShape) -> float | None:
        """Everything on the CPU: the speed needs no plan, so the score is bounded by the
        quality and that speed (fit and context taken as perfect); None when too slow. A
        measurement could be faster than the estimate: then only the quality bounds it."""
        if run.measured_covers(model, quant):
            cpu_bounds[quant.type] = run.best_possible(model, quant, context)[1]
            return cpu_bounds[quant.type]
        if not kv_per_token:
            kv_per_token.append(kv_bytes_per_token(shape))
        load = cpu_only_load(shape, model.active_parameters / (model.parameters or 1), kv_per_token[0])
        speed = estimate_speed([load], run.bandwidths, model.active_parameters, context,
                               quant.type, model.parameters)
        if speed.tokens_per_second < 0.98 * options.min_tokens_per_second:
            skipped_as_slow.append(quant)
            return None
        cpu_bounds[quant.type] = run.best_possible(model, quant, context, speed.tokens_per_second)[1]
        return cpu_bounds[quant.type]

    for candidate in iter_candidates(model, context, run.machine, options.max_download_bytes,
                                     max_read, not_worth_planning, cpu_bound):
        bound = cpu_bounds.get(candidate.quant.type)
        if bound is None:
            bound = run.best_possible(model, candidate.quant, context)[1]
        best = bar()
        if best is not None and bound < best - CLOSE_SCORE:
            break  # candidates come in falling order of their bound: none of the rest can win
        rec = run.evaluate(model, candidate)
        previous = evaluated[-1] if evaluated else None
        if previous is not None and previous.candidate.quant is candidate.quant:
            # The same quant with its experts on the CPU: the placement that scores better stays.
            if better_placement(previous, rec, options.min_tokens_per_second) is previous:
                continue
            evaluated.pop()
            if fast and fast[-1] is previous:
                fast.pop()
        evaluated.append(rec)
        if rec.speed.best_tokens_per_second >= options.min_tokens_per_second:
            fast.append(rec)
    if fast and any(experts_on_cpu(r.candidate.plan) for r in fast) and not any(
            r.candidate.plan.placement == "gpu" and not experts_on_cpu(r.candidate.plan)
            for r in evaluated):
        # The largest quant that runs entirely on the GPUs, where one does (below the floor,
        # its bound pruned it): the quant policy weighs it, and its reason names it.
        for quant in sorted(allowed, key=lambda q: q.size_bytes, reverse=True):
            whole_plan = whole_on_gpus(model, quant, context, run.machine)
            if whole_plan is not None:
                rec = run.evaluate(model, whole_plan)
                if rec.speed.best_tokens_per_second >= options.min_tokens_per_second:
                    evaluated.append(rec)
                    fast.append(rec)
                break
    if fast:
        chosen = _choose(fast, run.floor)
        fitting = [r.retention for r in evaluated] + [run.retention(q).factor for q in skipped_as_slow]
        return too_lossy(chosen, run.floor, fitting) or _with_slower_quants_named(
            chosen, [r.candidate.quant for r in evaluated if r not in fast] + skipped_as_slow,
            options.min_tokens_per_second)
    if evaluated or skipped_as_slow:
        return too_slow
    return (f"no quantization fits at {context:,} tokens of context"
            + (" within the download limit" if options.max_download_bytes else ""))


# Model fields `_rank_model` never reads (the filters, the quality and the output read them):
# two models alike in every other field are planned alike.
_NOT_PLANNING_INPUTS = frozenset({"id", "name", "family", "publisher", "hf_repo", "released",
                                  "languages", "license", "benchmarks", "source_file", "notes"})
planning_inputs: Callable[[Model], tuple[object, ...]] = itemgetter(
    *(i for i, field in enumerate(Model._fields) if field not in _NOT_PLANNING_INPUTS))


def _rank_with_projector(run: _Run, model: Model, context: int) -> Recommendation | str:
    """`_rank_model` on the machine a vision model's projector leaves, its note added."""
    machine, projector_note = with_projector(model, run.use_case, run.machine)
    outcome = _rank_model(run._replace(machine=machine), model, context)
    if projector_note is not None and not isinstance(outcome, str):
        outcome = outcome._replace(notes=(*outcome.notes, projector_note))
    return outcome


class PlannedOutcomes:
    """Each model's outcome in one ranking, planned once per set of planning inputs: a model
    alike in every input to one already planned (the same files, architecture facts, quant
    sizes and context: a re-listed entry, a clone) at the same quality level and 16-bit value
    has the same plans, speeds and scores, so its outcome is the other's with its own record.
    The quality's wording is the one thing the inputs do not fix: a recommendation is reused
    only when the two models' qualities are equal, else planned afresh."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.known: dict[tuple[object, ...], tuple[Model, Recommendation | str]] = {}

    def outcome(self, model: Model, context: int,
                last: tuple[int, float] | None = None) -> Recommendation | str | None:
        """The model's outcome; None for a recommendation alike to one already planned whose
        sort key is at most `last` (the top N's last, N ranked): ranked after N others, it
        could never be shown, so its quality's wording is not worked out."""
        run = self.run
        key = (planning_inputs(model), context, run.quality_bound(model))
        found = self.known.get(key)
        if found is not None:
            first, outcome = found
            if isinstance(outcome, str):
                return outcome
            if last is not None and outcome.sort_key <= last:
                return None  # the same level and score as `first`'s, whatever the wording
            if run.quality(model) == run.quality(first):
                return outcome._replace(model=model)
        outcome = _rank_with_projector(run, model, context)
        self.known.setdefault(key, (model, outcome))
        return outcome


def better_placement(first: Recommendation, second: Recommendation,
                     min_tokens_per_second: float) -> Recommendation:
    """Of two placements of one quant (layers split, or experts on the CPU), the one to keep:
    fast enough first, then the higher score; `first` on a tie."""
    def key(rec: Recommendation) -> tuple[bool, float]:
        return rec.speed.best_tokens_per_second >= min_tokens_per_second, choice_score(rec)

    return second if key(second) > key(first) else first


def _with_slower_quants_named(chosen: Recommendation, slow: list[Quantization],
                              min_tokens_per_second: float) -> Recommendation:
    """Say so when quants that keep more quality fit but were left out as too slow: the
    choice of a smaller quant is then the speed floor's, not the memory's."""
    kept = chosen.retention
    better = sorted({q.type: q for q in slow if q.size_bytes > chosen.candidate.quant.size_bytes}
                    .values(), key=lambda q: q.size_bytes)
    if not better:
        return chosen
    names = ", ".join(q.type for q in better)
    return chosen._replace(notes=(*chosen.notes,
        f"{names} fit but run under {min_tokens_per_second:g} tokens/s here (--min-speed); "
        f"{chosen.candidate.quant.type} keeps ~{kept * 100:.1f} % of the quality and is fast "
        "enough"))


def _cached_retention(retentions: dict[str, Retention], catalog: Catalog,
                      quant: Quantization) -> Retention:
    """The quant type's retention, worked out once per ranking (`retentions` keeps it)."""
    if quant.type not in retentions:
        retentions[quant.type] = retention(quant.type, catalog.quant_types)
    return retentions[quant.type]


def _default_queue_bound(catalog: Catalog, use_case: UseCase,
                         retentions: dict[str, Retention]) -> QueueBound:
    """`queue_bound` at the use case's own context, for `quality_table` to keep with the
    qualities it is worked out from (None: a model with no quantization to rank)."""
    def kept(quant: Quantization) -> Retention:
        return _cached_retention(retentions, catalog, quant)

    def bound(model: Model, quality: tuple[int, float | None]) -> tuple[int, float] | None:
        if not model.quantizations:
            return None
        trained = model.architecture.trained_context
        return queue_bound(model, quality, planned_context(trained, use_case.key), kept)
    return bound


def recommend(snapshot: HardwareSnapshot, catalog: Catalog, options: RankOptions,
              cpu_measured: CpuBandwidth | None,
              measured: MeasuredLookup | None = None) -> RankResult:
    """Ranked recommendations for this machine (or the what-if machine in `snapshot`)."""
    use_case = USE_CASES[options.use_case]
    target = options.context or use_case.default_context
    bandwidths = machine_bandwidths(snapshot, cpu_measured)
    fastest = max(bw.bytes_per_second * bw.efficiency.high for bw in bandwidths.values())
    retentions: dict[str, Retention] = {}  # one per quant type, shared by the table and the run
    table = prepared(catalog, use_case, _default_queue_bound(catalog, use_case, retentions))
    run = _Run(use_case, options, catalog, machine_from_snapshot(snapshot), bandwidths,
               plan_device_ids(snapshot), snapshot.cpu.inference_threads, table.references,
               fastest / options.min_tokens_per_second if options.min_tokens_per_second > 0 else None,
               measured, retentions, {}, retention(FLOOR_QUANT, catalog.quant_types).factor, table.qualities)
    # Every model's place in the queue at the use case's own context, worked out with the table.
    kept_bounds = table.queue if options.context is None and options.only_quants is None else {}
    excluded: dict[str, list[str]] = {}
    ranked: list[Recommendation] = []
    # (bound, the model's place in the catalog, context, the model where it was read already)
    queue: list[tuple[tuple[int, float], int, int, Model | None]] = []
    wanted = _wanted_capabilities(use_case, options)
    models = catalog.models  # a large catalog's are read when first asked for (lazymodels.py)
    all_facts = model_facts(models)
    for place, facts in enumerate(all_facts):
        trained = facts.trained_context
        context = (planned_context(trained, use_case.key) if options.context is None
                   else min(target, trained) if trained else target)
        reason = _filter_reason(facts, use_case, options, context, wanted)
        model = None
        if reason is None and options.only_quants is not None:
            model = models[place]
            kept = tuple(q for q in model.quantizations
                         if (model.id, q.type.upper()) in options.only_quants)
            model = model._replace(quantizations=kept)
            reason = None if kept else "not on disk"
        if reason is not None:
            excluded.setdefault(reason, []).append(facts.id)
            continue
        bound = kept_bounds.get(facts.id)
        if bound is None:
            model = model if model is not None else models[place]
            bound = queue_bound(model, run.quality_bound(model), context, run.retention)
        queue.append((bound, place, context, model))
    # Most promising first; once `limit` models are ranked, a model whose best possible
    # score cannot beat the last of them is not planned (nor its record read) at all.
    queue.sort(key=itemgetter(0), reverse=True)
    top: list[tuple[int, float]] = []  # the best `limit` sort keys so far, the lowest first
    planned = PlannedOutcomes(run)
    for position, (bound, place, context, read) in enumerate(queue):
        if options.limit and len(ranked) >= options.limit:
            last = top[0]  # the limit-th best so far
            if bound < last:
                excluded[f"cannot reach the top {options.limit}"] = [
                    all_facts[entry[1]].id for entry in queue[position:]]
                break
        model = read if read is not None else models[place]
        outcome = planned.outcome(model, context, top[0] if options.limit and len(top) >= options.limit
                                  else None)
        if outcome is None:
            continue
        if isinstance(outcome, str):
            excluded.setdefault(outcome, []).append(model.id)
            continue
        notes = [*outcome.notes,
                 *([f"context limited to the trained {context:,} tokens"] if context < target else [])]
        if (outcome.speed.measured_tokens_per_second is None and run.measured is not None
                and run.measured.covers(model, outcome.candidate.quant)
                and "n_cpu_moe" not in outcome.runtime_settings):  # no smoke can measure that
            settings = outcome.runtime_settings
            notes.append(f"measured here with other settings, so its speed is an estimate: smoke "
                         f"it at n_ctx {settings['n_ctx']}, n_gpu_layers {settings['n_gpu_layers']} "
                         "(the run: line) to measure these")
        if use_case.key == "tools" and model.active_parameters < SMALL_FOR_TOOLS:
            notes.append("the source document finds 7-8B open models unreliable for complex "
                         "tool use in production; fine for simple, well-specified calls")
        ranked.append(outcome._replace(notes=tuple(notes)))
        if options.limit:
            heapq.heappush(top, outcome.sort_key)
            if len(top) > options.limit:
                heapq.heappop(top)
    ranked.sort(key=lambda r: r.sort_key, reverse=True)
    warnings = []
    if not ranked:
        warnings.append(f"no catalog model fits this machine for {use_case.title} at "
                        f"{target:,} tokens and {options.min_tokens_per_second:g} tokens/s or "
                        "more; try --ctx, --min-speed"
                        + (", a larger --max-download" if options.max_download_bytes else "")
                        + (", without --on-disk" if options.only_quants is not None else "")
                        + " or a what-if machine")
    # An unknown device or a chip variant chosen without its core count: said, not hidden.
    # (two alike unknown GPUs make one assumption: said once)
    warnings += list(dict.fromkeys(f"speed: {bw.assumption}" for bw in bandwidths.values()
                                   if bw.assumption))
    return RankResult(use_case, options, tuple(ranked[: options.limit or None]), bandwidths, excluded,
                      tuple(warnings))
