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
from picker.rank.comparable import score_group
from picker.rank.engine import RankResult, Recommendation
from picker.rank.gpu_split import gpu_split, split_words
from picker.rank.quality import best_score
from picker.units import format_size


def _comparison(rec: Recommendation, result: RankResult, catalog: Catalog) -> dict[str, Any] | None:
    """The local model against each closed model on the same test (MMLU-Redux only with
    MMLU-Redux, and so on); `same_setting` says whether the mode (base, instruct, thinking,
    the source document's approximate figure) matches too."""
    benchmark = result.use_case.compare_on
    used = next((use.score for use in rec.quality.detail if use.facet == benchmark), None)
    local = used or best_score(rec.model, benchmark)
    if local is None:
        return None
    group = score_group(local)
    closed = []
    for model in catalog.closed:
        scores = [s for s in model.benchmarks if score_group(s).test == group.test]
        if scores:
            same = [s for s in scores if score_group(s).mode == group.mode]
            chosen = (same or [s for s in scores if s.source == local.source] or scores)[0]
            closed.append({"model_id": model.id, "name": model.name, "score": chosen.score,
                           "source": chosen.source, "setting": chosen.setting,
                           "same_setting": bool(same), "gap": round(local.score - chosen.score, 1)})
    kept = (rec.quality.value or 0.0) / rec.quality.raw if rec.quality.raw else 1.0
    return {"benchmark": local.benchmark, "compared_as": group.label, "local_score": local.score,
            "local_source": local.source,
            "note": f"published 16-bit score; {rec.candidate.quant.type} keeps about "
                    f"{kept * 100:.1f} % of it; only closed scores of the same test "
                    f"({group.label.split(',')[0]}) are listed"
                    + ("" if closed else ": no closed model in the catalog publishes it"),
            "closed": closed}


def _why(rec: Recommendation) -> dict[str, str]:
    """Each score component's why, the quant's reason and, across GPUs, the split."""
    why = {name: component.why for name, component in rec.components.items()}
    if rec.quant_reason:
        why["quant"] = rec.quant_reason
    split = gpu_split(rec.candidate.plan)
    if split is not None:
        why["split"] = split_words(split)
    return why


def _local_only(model: Model) -> bool:
    return model.gguf is None or model.gguf.quantizer == "local"


def recommendation_dict(rank: int, rec: Recommendation, result: RankResult, catalog: Catalog,
                        snapshot: HardwareSnapshot) -> dict[str, Any]:
    model, candidate = rec.model, rec.candidate
    quant, plan = candidate.quant, candidate.plan
    target = f"{model.id}:{quant.type}"
    smoke = (f"picker smoke {target} --ctx {candidate.context} "
             f"--n-gpu-layers {plan.gpu_layers}")
    split = gpu_split(plan)
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
        "why": _why(rec),
        "quant_reason": rec.quant_reason or None,
        "quality_detail": {"known_share": round(rec.quality.known_share, 3),
                           "scores": [use.to_dict() for use in rec.quality.detail]},
        "gpu_split": split,
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
        from picker.rank.cost import DEFAULT_USD_PER_KWH, cost_words, monthly_cost, power_draw

        power = power_draw(snapshot, plan.placement)
        document["cost"] = monthly_cost(options.tokens_per_month, rec.speed.best_tokens_per_second,
                                        rec.speed.prompt_tokens_per_second, power,
                                        options.usd_per_kwh or DEFAULT_USD_PER_KWH, catalog.closed,
                                        _gpus_used(rec, snapshot), catalog.sources)
        document["cost"]["summary"] = cost_words(document["cost"])
    return document


def _gpus_used(rec: Recommendation, snapshot: HardwareSnapshot) -> tuple[str, ...]:
    """The names of the GPUs the plan puts layers (or the output layer) on."""
    usable = [gpu for gpu in snapshot.gpus if gpu.memory_kind != "shared"]
    plan = rec.candidate.plan
    used: list[str] = []
    for device in plan.devices:
        if device.device.startswith("GPU") and (device.layers or device.device == plan.output_device):
            position = int(device.device[3:])
            if position < len(usable):
                used.append(usable[position].name or f"GPU{position}")
    return tuple(used)


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
        for name in ("quality", "quant", "speed", "fit", "split", "context"):
            if name in doc["why"]:
                lines.append(f"   {name}: {doc['why'][name]}")
        comparison = doc["comparison"]
        if comparison and comparison["closed"]:
            closed = ", ".join(f"{c['name']} {c['score']:g}"
                               + ("" if c["same_setting"] else " (other setting)")
                               for c in comparison["closed"])
            lines.append(f"   vs closed models on {comparison['compared_as']}: "
                         f"{comparison['local_score']:g} here; {closed}")
        if "cost" in doc:
            lines.append(f"   cost ({doc['cost']['tokens_per_month']:,} tokens/month): "
                         f"{doc['cost']['summary']}")
        lines.extend(f"   note: {note}" for note in doc["notes"])
        lines.append("   run: " + " && ".join(command for command in doc["commands"].values()
                                              if command))
    if case.guidance:
        lines.extend(["", f"Note: {case.guidance}"])
    seed = next((doc["cost"]["seed_claim"] for doc in documents if "cost" in doc), None)
    if seed is not None:
        lines.extend(["", f"The source document's cost claim: {seed['claim']}.",
                      f"From the cited prices: {seed['differs']}."])
    return "\n".join(lines)
