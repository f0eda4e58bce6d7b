"""Recommendations as the JSON document and as text for people.

Every recommendation carries what is needed to act on it: the file, its size, the
fit plan, the speed and how it was obtained, the score and its components with a
"why" each, the comparison with closed models on the use case's benchmark, and the
exact `picker download` / `picker smoke` commands.
"""

from __future__ import annotations

from typing import Any

from picker.catalog.types import Catalog, Model
from picker.hardware.model import HardwareSnapshot
from picker.rank.engine import RankResult, Recommendation
from picker.rank.quality import best_score
from picker.units import format_size


def _comparison(rec: Recommendation, result: RankResult, catalog: Catalog) -> dict[str, Any] | None:
    """The local model against each closed model on the same benchmark (source document)."""
    benchmark = result.use_case.compare_on
    local = best_score(rec.model, benchmark)
    if local is None:
        return None
    closed = []
    for model in catalog.closed:
        scores = [s for s in model.benchmarks if s.benchmark == benchmark]
        same_source = [s for s in scores if s.source == local.source]
        if scores:
            chosen = (same_source or scores)[0]
            closed.append({"model_id": model.id, "name": model.name, "score": chosen.score,
                           "source": chosen.source, "gap": round(local.score - chosen.score, 1)})
    kept = (rec.quality.value or 0.0) / rec.quality.raw if rec.quality.raw else 1.0
    return {"benchmark": benchmark, "local_score": local.score, "local_source": local.source,
            "note": f"published 16-bit score; {rec.candidate.quant.type} keeps about "
                    f"{kept * 100:.1f} % of it",
            "closed": closed}


def _local_only(model: Model) -> bool:
    return model.gguf is None or model.gguf.quantizer == "local"


def recommendation_dict(rank: int, rec: Recommendation, result: RankResult, catalog: Catalog,
                        snapshot: HardwareSnapshot) -> dict[str, Any]:
    model, candidate = rec.model, rec.candidate
    quant, plan = candidate.quant, candidate.plan
    target = f"{model.id}:{quant.type}"
    smoke = (f"picker smoke {target} --ctx {candidate.context} "
             f"--n-gpu-layers {plan.gpu_layers}")
    document: dict[str, Any] = {
        "rank": rank,
        "model_id": model.id,
        "name": model.name,
        "family": model.family,
        "parameters": model.parameters,
        "active_parameters": model.active_parameters,
        "quant": quant.type,
        "repo": model.gguf.repo if model.gguf else None,
        "file": quant.files[0] if quant.files else None,
        "files": list(quant.files),
        "vision_projector": model.vision_projector or None,
        "download_bytes": quant.size_bytes,
        "download_size_estimated": quant.size_estimated,
        "placement": plan.placement,
        "n_gpu_layers": plan.gpu_layers,
        "context": candidate.context,
        "memory": {"fits": plan.fits, "estimated": candidate.shape.estimated,
                   "estimate_note": candidate.shape.estimate_note, **plan.memory_dict()},
        "tokens_per_second": rec.speed.to_dict(),
        "score": round(rec.score, 1),
        "quality_basis": {2: "use-case benchmarks", 1: "other benchmarks (proxy)",
                          0: "no benchmark"}[rec.quality.level],
        "components": {name: component.to_dict() for name, component in rec.components.items()},
        "why": {name: component.why for name, component in rec.components.items()},
        "comparison": _comparison(rec, result, catalog),
        "guidance": result.use_case.guidance or None,
        "license": {"name": model.license.name, "commercial": model.license.commercial,
                    "gated": model.license.gated},
        "capabilities": sorted(model.capabilities),
        # A file added with `picker catalog add` is already here: nothing to download.
        "commands": {"download": None if _local_only(model) else f"picker download {target}",
                     "smoke": smoke},
        "notes": list(rec.notes),
    }
    options = result.options
    if options.tokens_per_month:
        from picker.rank.cost import DEFAULT_USD_PER_KWH, monthly_cost, power_draw

        power = power_draw(snapshot, plan.placement)
        document["cost"] = monthly_cost(options.tokens_per_month, rec.speed.best_tokens_per_second,
                                        rec.speed.prompt_tokens_per_second, power,
                                        options.usd_per_kwh or DEFAULT_USD_PER_KWH, catalog.closed)
    return document


def recommendations_list(result: RankResult, catalog: Catalog,
                         snapshot: HardwareSnapshot) -> list[dict[str, Any]]:
    return [recommendation_dict(i, rec, result, catalog, snapshot)
            for i, rec in enumerate(result.recommendations, start=1)]


def speed_basis_dict(result: RankResult) -> dict[str, Any]:
    return {device: {"label": bw.label, "bytes_per_second": round(bw.bytes_per_second),
                     "kind": bw.kind, "source": bw.source,
                     "efficiency": [bw.efficiency.low, bw.efficiency.central, bw.efficiency.high],
                     "prompt": bw.prompt_source}
            for device, bw in result.bandwidths.items()}


def render_text(result: RankResult, documents: list[dict[str, Any]], what_if: str = "") -> str:
    """A table plus the why lines, for people; `what_if` lists a what-if machine's assumptions."""
    case = result.use_case
    context = result.options.context or case.default_context
    machine = "the what-if machine" if what_if else "this machine"
    lines = [f"Best models for {case.title} on {machine} "
             f"(context {context:,}; minimum {result.options.min_tokens_per_second:g} tokens/s):",
             *([f"What-if machine: {what_if}"] if what_if else []), ""]
    if not documents:
        excluded = "; ".join(f"{len(ids)} {reason}" for reason, ids in result.excluded.items())
        lines.append(f"Nothing to recommend ({excluded}).")
        return "\n".join(lines)
    lines.append(f"{'#':>2}  {'model':<32} {'quant':<9} {'where':<8} {'tokens/s':>12} "
                 f"{'download':>10} {'score':>6}  quality from")
    for doc in documents:
        speed = doc["tokens_per_second"]
        shown = (f"{speed['measured']:.0f} measured" if speed["measured"]
                 else f"~{speed['estimate']:.0f}")
        lines.append(f"{doc['rank']:>2}  {doc['model_id']:<32} {doc['quant']:<9} "
                     f"{doc['placement']:<8} {shown:>12} {format_size(doc['download_bytes']):>10} "
                     f"{doc['score']:>6.1f}  {doc['quality_basis']}")
    lines.append("")
    for doc in documents[:3]:
        lines.append(f"{doc['rank']}. {doc['name']} {doc['quant']}")
        for name in ("quality", "speed", "fit", "context"):
            lines.append(f"   {name}: {doc['why'][name]}")
        comparison = doc["comparison"]
        if comparison and comparison["closed"]:
            closed = ", ".join(f"{c['name']} {c['score']:g}" for c in comparison["closed"])
            lines.append(f"   vs closed models on {comparison['benchmark']}: "
                         f"{comparison['local_score']:g} here; {closed}")
        if "cost" in doc:
            cost = doc["cost"]
            cheapest = min((c["usd_per_month"] for c in cost["closed_api"]), default=None)
            lines.append(f"   cost: ~${cost['local_usd_per_month']:.2f}/month in electricity"
                         + (f" vs ${cheapest:.2f}+ via closed APIs" if cheapest is not None else ""))
        lines.extend(f"   note: {note}" for note in doc["notes"])
        lines.append("   run: " + " && ".join(command for command in doc["commands"].values()
                                              if command))
    if case.guidance:
        lines.extend(["", f"Note: {case.guidance}"])
    return "\n".join(lines)


def recommendations_document(args: Any) -> dict[str, Any]:
    """The headless document for `picker recommend`-style arguments (see `picker.rank.request`)."""
    from picker.rank.request import build

    return build(args)[0]
