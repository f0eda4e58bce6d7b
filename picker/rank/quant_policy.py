"""Which quantization of a model to recommend: quality first, a lower quant only for a stated gain.

The quality each quant type keeps comes from llama.cpp's published KL-divergence table
(`quality.retention`, catalog/quant_types.toml). Q4_K_M is the floor people trust: every
quant that keeps at least as much as Q4_K_M competes on the score (quality, speed, fit,
context). A quant below that floor (Q4_K_S, IQ4_XS, Q3, Q2, IQ2...) is recommended over
the best floor-or-better quant only when it scores higher and gains one of:

- placement: it runs entirely on the GPU (or more of it does: more layers there, or
  fewer layers' MoE experts kept on the CPU) where the better quant would spill onto the
  CPU, and is at least FASTER_BY times as fast for it;
- speed: the better quant is under COMFORTABLE_TOKENS_PER_SECOND and the lower one at
  least FASTER_BY times as fast;
- context: it fits at least LONGER_CONTEXT_BY times the context, where the better quant
  leaves under TIGHT_CONTEXT times the planned context (a conversation soon hits the wall)
  and cannot reach the model's trained context.

and it loses at most MAX_LOSS_FOR_GAIN of the better quant's quality (Q3_K_M keeps ~97 %
of Q4_K_M's, Q2_K ~85 %: no gain buys Q2_K over a Q4_K_M that fits). Otherwise a few
points of speed or headroom do not buy lost quality. When no quant at or
above the floor fits fast enough, the one that keeps the most is the reference, and the
same rule applies below it; the reason printed says which case it is. A quant that keeps
less than (1 - MAX_LOSS_FOR_GAIN) of Q4_K_M's quality (Q2_K, IQ2_*, IQ1_*) is never
recommended just for being the only one fast enough while better quants fit: that model
is listed as too slow here, and a smaller model at a sound quant takes its place.

Going up is the same rule the other way round: among the quants at or above the floor the
score may favour a smaller one for a few tokens/s or a little more free memory, but once a
model reads comfortably fast that buys nothing. A quant that keeps more quality (smaller
published KL divergence) replaces the choice when it runs in the same place (as many layers
on the GPUs), fits the same context, and stays at or above QUALITY_FIRST_TOKENS_PER_SECOND
and the use case's comfortable speed (its speed term full): Qwen3-32B on 2 x 24 GB is then
Q8_0 at ~22 tokens/s rather than Q4_K_M at ~34 (see the reason printed).

Experts on the CPU (`--n-cpu-moe`) are a placement between entirely on the GPU and a layer
split: the same rules compare them (fewer layers' experts on the CPU is more on the GPU).
So that a mixture of experts is not slowed down for quality its floor already has, a quant
at or above the floor that keeps experts on the CPU competes only when no quant at or
above the floor runs entirely on the GPU; then it is chosen on the score like any other,
and a lower quant that would run entirely on the GPU replaces it only by the rules above
(the reason names it either way). A quant just under the floor (within NEAR_FLOOR_LOSS of its
quality: IQ4_XS keeps ~98.6 % where Q4_K_M keeps ~98.8 %) that runs entirely on the GPU counts
as the floor here: Qwen3-Next-80B-A3B on 2 x 24 GB is IQ4_XS on the GPUs at ~225 tokens/s
rather than Q5_K_M with the experts of 11 layers on the CPU at ~45 (0.2 % of quality is not
worth a fifth of the speed, and the experts in host memory also slow every prompt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker.rank.candidates import experts_on_cpu, on_gpu_order

if TYPE_CHECKING:
    from picker.memory.plan import MemoryPlan
    from picker.rank.engine import Recommendation

FLOOR_QUANT = "Q4_K_M"
COMFORTABLE_TOKENS_PER_SECOND = 10.0  # twice the default minimum: reading without waiting
FASTER_BY = 1.5
LONGER_CONTEXT_BY = 2.0
TIGHT_CONTEXT = 1.1
MAX_LOSS_FOR_GAIN = 0.10  # of the better quant's retained quality
# A quant this close under the floor's retained quality stands in for the floor when only it
# runs entirely on the GPU and the floor's quants need experts on the CPU (see the module note).
NEAR_FLOOR_LOSS = 0.005
# Well above reading speed (~5-7 tokens/s, see usecases): past it a better quant costs
# nothing a reader notices.
QUALITY_FIRST_TOKENS_PER_SECOND = 20.0
# Going up must keep this much more of the 16-bit quality: Q8_0 over Q6_K (+0.17 %) does,
# 16-bit over Q8_0 (+0.05 %, KLD 0.001) does not: twice the download for nothing measurable.
MIN_QUALITY_GAIN = 0.001
_WHERE = {"gpu": "entirely on the GPU", "partial": "partly on the CPU", "cpu": "on the CPU"}


# (the recommendation, why that quant): a plain tuple, as a NamedTuple class costs import time.
QuantChoice = tuple["Recommendation", str]


def gain_over(lower: Recommendation, better: Recommendation) -> str | None:
    """What `lower` gains over `better` that is worth its lost quality, in words; None: nothing."""
    high_q = better.candidate.quant.type
    if lower.retention < (1 - MAX_LOSS_FOR_GAIN) * better.retention:
        return None
    low_plan, high_plan = lower.candidate.plan, better.candidate.plan
    low_speed, high_speed = (lower.speed.best_tokens_per_second, better.speed.best_tokens_per_second)
    faster = low_speed >= FASTER_BY * high_speed
    if faster and on_gpu_order(low_plan) > on_gpu_order(high_plan):
        return (f"runs {_where(low_plan)} where {high_q} runs {_where(high_plan)}: "
                f"~{low_speed:.0f} vs ~{high_speed:.0f} tokens/s")
    if high_speed < COMFORTABLE_TOKENS_PER_SECOND and faster:
        return (f"{low_speed / high_speed:.1f}x as fast: ~{low_speed:.0f} tokens/s where {high_q} "
                f"gives ~{high_speed:.0f}")
    low_ctx, high_ctx = lower.components["context"].value, better.components["context"].value
    trained = better.candidate.shape.n_ctx_train or 0
    tight = high_ctx < TIGHT_CONTEXT * better.candidate.context
    if tight and high_ctx < trained and low_ctx >= LONGER_CONTEXT_BY * high_ctx:
        return f"fits ~{low_ctx:,} tokens of context where {high_q} fits ~{high_ctx:,}"
    return None


def _where(plan: MemoryPlan) -> str:
    """Where a plan runs, with its layers on the GPUs and the experts kept on the CPU."""
    moved = experts_on_cpu(plan)
    where = "on the GPU" if moved and plan.placement == "gpu" else _WHERE[plan.placement]
    return (f"{where} ({plan.gpu_layers} layers on GPUs"
            + (f", the experts of {moved} of them on the CPU" if moved else "") + ")")


def _entirely_on_gpu(option: Recommendation) -> bool:
    plan = option.candidate.plan
    return plan.placement == "gpu" and not experts_on_cpu(plan)


def quality_first(options: list[Recommendation], chosen: Recommendation) -> Recommendation:
    """The quant of `options` that keeps the most quality (the smallest download within
    MIN_QUALITY_GAIN of that) and runs where `chosen` runs (as many layers on the GPUs),
    fits as much context (up to what the context term asks) and reads comfortably fast (see
    the module note); `chosen` when none keeps MIN_QUALITY_GAIN more."""
    plan = chosen.candidate.plan
    context_score = chosen.components["context"].score or 0.0
    eligible = [option for option in options
                if option.candidate.plan.placement == plan.placement
                and option.candidate.plan.gpu_layers >= plan.gpu_layers
                and experts_on_cpu(option.candidate.plan) <= experts_on_cpu(plan)
                and option.speed.best_tokens_per_second >= QUALITY_FIRST_TOKENS_PER_SECOND
                and (option.components["speed"].score or 0.0) >= 1.0
                and (option.components["context"].score or 0.0) >= context_score]
    if not eligible:
        return chosen
    most = max(option.retention for option in eligible)
    best = min((option for option in eligible if option.retention >= most - MIN_QUALITY_GAIN),
               key=lambda option: option.candidate.quant.size_bytes)
    return best if best.retention >= chosen.retention + MIN_QUALITY_GAIN else chosen


def too_lossy(chosen: Recommendation, floor: float, fitting_retentions: list[float]) -> str | None:
    """Why `chosen` is refused (see the module note), or None; `fitting_retentions` are the
    retentions of every quant of the model that fits here, fast enough or not."""
    severe = (1 - MAX_LOSS_FOR_GAIN) * floor
    if chosen.retention >= severe or not any(kept >= severe for kept in fitting_retentions):
        return None
    return (f"only quants that keep under {(1 - MAX_LOSS_FOR_GAIN) * 100:.0f} % of "
            f"{FLOOR_QUANT}'s quality reach the minimum speed (better ones fit but are slower)")


def near_floor(floor: float) -> float:
    """The retention from which a quant just under the floor may stand in for it."""
    return floor * (1 - NEAR_FLOOR_LOSS)


def _near_floor_on_gpu(options: list[Recommendation], kept: list[Recommendation],
                       floor: float) -> Recommendation | None:
    """The quant just under the floor that runs entirely on the GPU, where no quant at or
    above the floor does and one keeps experts on the CPU (see the module note; called only
    when none runs entirely on the GPU); None otherwise."""
    if not any(experts_on_cpu(option.candidate.plan) for option in kept):
        return None
    near = [option for option in options if near_floor(floor) <= option.retention < floor
            and _entirely_on_gpu(option)]
    return max(near, key=lambda option: option.retention) if near else None


def choose_quant(options: list[Recommendation], floor: float, close: float) -> QuantChoice:
    """The quant to recommend among `options` (each fast enough); `floor` is the retention of
    FLOOR_QUANT, `close` the score margin within which the smaller download is preferred.

    The reference is the best-scoring quant at or above the floor (or, when none is fast
    enough here, the one that keeps the most); going down in quality from there, a quant
    replaces the current choice only with a higher score and a stated gain over it."""
    from picker.rank.engine import choice_score, choose_by_score

    kept = [option for option in options if option.retention >= floor]
    whole = [option for option in kept if _entirely_on_gpu(option)]
    moved = [option for option in kept if experts_on_cpu(option.candidate.plan)] if whole else []
    kept = [option for option in kept if option not in moved]
    near = _near_floor_on_gpu(options, kept, floor) if not whole else None
    if near is not None:
        current = near
        better = choose_by_score([o for o in kept if experts_on_cpu(o.candidate.plan)], close)
        start = (f"{near.candidate.quant.type} rather than {better.candidate.quant.type} (keeps ~"
                 f"{near.retention * 100:.1f} % vs ~{better.retention * 100:.1f} % of 16-bit "
                 f"quality, within {NEAR_FLOOR_LOSS * 100:g} % of {FLOOR_QUANT}'s, published KL "
                 f"divergence): runs entirely on the GPU at ~{near.speed.best_tokens_per_second:.0f}"
                 f" tokens/s where {better.candidate.quant.type} needs the experts of "
                 f"{experts_on_cpu(better.candidate.plan)} layers on the CPU (~"
                 f"{better.speed.best_tokens_per_second:.0f} tokens/s)")
    elif kept:
        current = choose_by_score(kept, close)
        start = (f"{current.candidate.quant.type}: the best score of the quants that keep "
                 f"{FLOOR_QUANT}'s quality or more (published KL divergence)")
        if moved:
            richest = max(moved, key=lambda option: option.retention)
            start += (f"; {richest.candidate.quant.type} would fit only with its experts on the CPU "
                      f"(~{richest.speed.best_tokens_per_second:.0f} tokens/s): experts leave the "
                      f"GPU only where no quant keeping {FLOOR_QUANT}'s quality fits on it whole")
        better = quality_first(kept, current)
        if better is not current:
            start = (f"{better.candidate.quant.type} rather than {current.candidate.quant.type}"
                     f" (keeps ~{better.retention * 100:.1f} % vs ~{current.retention * 100:.1f} %"
                     f" of 16-bit quality, published KL divergence): fits the same place and "
                     f"context and still reads comfortably at ~"
                     f"{better.speed.best_tokens_per_second:.0f} tokens/s (~"
                     f"{current.speed.best_tokens_per_second:.0f} with "
                     f"{current.candidate.quant.type})")
            current = better
    else:
        most = max(option.retention for option in options)
        current = choose_by_score([o for o in options if o.retention == most], close)
        start = (f"{current.candidate.quant.type}: no quant keeping {FLOOR_QUANT}'s quality or "
                 "more fits here fast enough; this one keeps the most of those that do")
    reason = start
    for option in sorted((o for o in options if o.retention < current.retention),
                         key=lambda o: -o.retention):
        if choice_score(option) <= choice_score(current) + close:
            continue
        gain = gain_over(option, current)
        if gain is not None:
            reason = (f"{option.candidate.quant.type} rather than {current.candidate.quant.type} "
                      f"(keeps ~{option.retention * 100:.1f} % vs ~{current.retention * 100:.1f} % "
                      f"of 16-bit quality): {gain}")
            current = option
    if reason == start and experts_on_cpu(current.candidate.plan):
        faster = [o for o in options if o.retention < current.retention
                  and on_gpu_order(o.candidate.plan) > on_gpu_order(current.candidate.plan)]
        if faster:
            best = max(faster, key=lambda o: (_entirely_on_gpu(o), o.retention, choice_score(o)))
            lower = (f"scores lower ({choice_score(best):.1f} vs {choice_score(current):.1f})"
                     if choice_score(best) <= choice_score(current) + close else
                     f"loses more than {MAX_LOSS_FOR_GAIN * 100:.0f} % of its quality")
            reason += (f"; {best.candidate.quant.type} would run {_where(best.candidate.plan)} at "
                       f"~{best.speed.best_tokens_per_second:.0f} tokens/s but keeps less "
                       f"(~{best.retention * 100:.1f} %) and {lower}: with the "
                       f"experts of {experts_on_cpu(current.candidate.plan)} layers on the CPU "
                       f"{current.candidate.quant.type} still reads at ~"
                       f"{current.speed.best_tokens_per_second:.0f} tokens/s")
    if reason == start and any(o.retention < current.retention for o in options):
        reason += (f"; the lower quants would gain no placement, {FASTER_BY:g}x speed (under "
                   f"{COMFORTABLE_TOKENS_PER_SECOND:g} tokens/s) or {LONGER_CONTEXT_BY:g}x context")
    return current, reason
