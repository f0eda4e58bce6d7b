"""Quality for a use case: published benchmarks, with the quantization's published loss applied.

Only published numbers are used. Each score counts as a fraction of the best score
any catalog entry (open or closed) has published on that benchmark. A model without
any of the use case's benchmarks is ranked on the benchmarks it does have (labelled a
proxy), and one without any
benchmark gets no quality number at all: it is listed after the others, never scored
with a guess.

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
from picker.rank.usecases import USE_CASES, UseCase, normalise

KLD_TO_LOSS = 0.4
PPL_TO_KLD = 0.13
NO_LOSS_TYPES = {"F32": "32-bit: no quantization", "F16": "16-bit: no quantization",
                 "BF16": "16-bit: no quantization",
                 "MXFP4_MOE": "MXFP4 is the format the model was released in"}


class Retention(NamedTuple):
    factor: float  # fraction of the 16-bit benchmark score kept
    why: str


class Quality(NamedTuple):
    value: float | None  # 0..1 after quantization loss; None: no benchmark known
    raw: float | None  # before quantization loss
    level: int  # 2: the use case's benchmarks; 1: other benchmarks as a proxy; 0: none
    used: tuple[BenchmarkScore, ...]
    missing: tuple[str, ...]
    why: str


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


def best_known(catalog: Catalog) -> dict[str, float]:
    """The highest score any catalog entry (open or closed) has on each benchmark."""
    best: dict[str, float] = {}
    scores = [score for model in catalog.models for score in model.benchmarks]
    scores += [score for closed in catalog.closed for score in closed.benchmarks]
    for score in scores:
        value = normalise(score.benchmark, score.score)
        best[score.benchmark] = max(best.get(score.benchmark, 0.0), value)
    return best


def _weighted(model: Model, weights: tuple[tuple[str, float], ...], best: dict[str, float]) -> tuple[
        float | None, list[BenchmarkScore], list[str]]:
    total = weight_sum = 0.0
    used: list[BenchmarkScore] = []
    missing: list[str] = []
    for name, weight in weights:
        score = best_score(model, name)
        if score is None:
            missing.append(name)
            continue
        used.append(score)
        total += weight * min(1.0, normalise(name, score.score) / (best.get(name) or 1.0))
        weight_sum += weight
    return (total / weight_sum if weight_sum else None), used, missing


def _describe(used: list[BenchmarkScore]) -> str:
    return ", ".join(f"{score.benchmark} {score.score:g}" for score in used)


def base_quality(model: Model, use_case: UseCase, best: dict[str, float]) -> Quality:
    """The model's 16-bit quality for the use case (the same for every quant of it):
    the weighted mean of its scores as a fraction of the best published score on each
    benchmark, so a hard benchmark such as GPQA and an easy one such as MMLU weigh alike."""
    value, used, missing = _weighted(model, use_case.benchmarks, best)
    level = 2
    if value is None:
        proxy = (*USE_CASES["general"].benchmarks, ("humaneval", 0.5), ("math", 0.5), ("ifeval", 0.5))
        value, used, _ = _weighted(model, proxy, best)
        level = 1 if value is not None else 0
    if value is None:
        return Quality(None, None, 0, (), tuple(missing),
                       "no published benchmark in the catalog: quality unknown, listed after "
                       "models with benchmarks")
    if level == 2:
        why = f"{_describe(used)}"
        if missing:
            why += f" ({', '.join(missing)} not published)"
    else:
        why = (f"no {use_case.title} benchmark published; ranked on what is known: "
               f"{_describe(used)}")
    if use_case.proxy_note and level == 2:
        why += f"; {use_case.proxy_note}"
    return Quality(value, value, level, tuple(used), tuple(missing), why)


def with_retention(base: Quality, kept: Retention) -> Quality:
    """The base quality with a quant's loss applied."""
    if base.raw is None:
        return base
    return base._replace(value=base.raw * kept.factor, why=f"{base.why}; {kept.why}")


def model_quality(model: Model, use_case: UseCase, kept: Retention, best: dict[str, float]) -> Quality:
    """`base_quality` times the quant's retention."""
    return with_retention(base_quality(model, use_case, best), kept)
