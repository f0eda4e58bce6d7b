"""Recommendations as the JSON document and as text for people.

Every recommendation carries what is needed to act on it: the file, its size, the
fit plan, the speed and how it was obtained, the score and its components with a
"why" each, the comparison with closed models on the use case's benchmark, and the
exact `picker download` / `picker smoke` commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from picker.catalog.types import Catalog, Model
from picker.hardware.model import HardwareSnapshot
from picker.rank.candidates import experts_on_cpu
from picker.rank.comparable import score_group
from picker.rank.engine import RankResult, Recommendation
from picker.rank.gpu_split import gpu_split, split_words
from picker.rank.quality import best_score
from picker.rank.records import (
    CommandsRecord,
    ComponentRecord,
    JsonObject,
    LicenseRecord,
    RecommendationRecord,
    SpeedRecord,
)
from picker.rank.score import Component
from picker.speed.estimate import SpeedEstimate
from picker.units import format_size


def _comparison(rec: Recommendation, result: RankResult, catalog: Catalog) -> dict[str, object] | None:
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


def _speed_record(speed: SpeedEstimate) -> SpeedRecord:
    return SpeedRecord(
        estimate=round(speed.tokens_per_second, 1),
        range=(round(speed.low_tokens_per_second, 1), round(speed.high_tokens_per_second, 1)),
        measured=_rounded(speed.measured_tokens_per_second, 1),
        basis="measured" if speed.measured_tokens_per_second else "estimate",
        prompt_estimate=_rounded(speed.prompt_tokens_per_second, 0),
        bound=_rounded(speed.bound_tokens_per_second, 1),
        empty_context=_rounded(speed.empty_context_tokens_per_second, 1),
        method=speed.method, prompt_method=speed.prompt_method,
        bandwidth_sources=tuple(speed.bandwidth_sources), measured_source=speed.measured_source)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _component_record(component: Component) -> ComponentRecord:
    return ComponentRecord(None if component.score is None else round(component.score, 3),
                           component.value, component.why)


def recommendation_record(rank: int, rec: Recommendation, result: RankResult, catalog: Catalog,
                          snapshot: HardwareSnapshot) -> RecommendationRecord:
    model, candidate = rec.model, rec.candidate
    quant, plan = candidate.quant, candidate.plan
    target = f"{model.id}:{quant.type}"
    smoke = (f"picker smoke {target} --ctx {candidate.context} "
             f"--n-gpu-layers {plan.gpu_layers}")
    moved = experts_on_cpu(plan)
    notes = rec.notes
    llama_server = None
    if moved:  # picker's runtime cannot keep experts on the CPU: llama-server runs the plan
        from picker.memory.emit import emit
        from picker.targets.files import model_arguments

        llama_server = emit(plan, model_arguments(target, None), "llama-server").text
        smoke = f"picker smoke {target} --ctx {candidate.context}"
        notes = (*notes, f"the experts of {moved} layers stay on the CPU (--n-cpu-moe {moved}): "
                 "the llama-server line runs exactly this plan; picker smoke and chat load "
                 "with llama-cpp-python, which cannot keep experts on the CPU, so they test "
                 "the model with whole layers on the CPU instead (slower)")
    cost = None
    options = result.options
    if options.tokens_per_month:
        from picker.rank.cost import DEFAULT_USD_PER_KWH, cost_words, monthly_cost, power_draw

        power = power_draw(snapshot, plan.placement)
        cost = monthly_cost(options.tokens_per_month, rec.speed.best_tokens_per_second,
                            rec.speed.prompt_tokens_per_second, power,
                            options.usd_per_kwh or DEFAULT_USD_PER_KWH, catalog.closed,
                            _gpus_used(rec, snapshot), catalog.sources)
        cost["summary"] = cost_words(cost)
    return RecommendationRecord(
        rank=rank, model_id=model.id, name=model.name, family=model.family,
        parameters=model.parameters, active_parameters=model.active_parameters,
        quant=quant.type, repo=model.gguf.repo if model.gguf else None,
        file=quant.files[0] if quant.files else None, files=tuple(quant.files),
        vision_projector=model.vision_projector or None, download_bytes=quant.size_bytes,
        download_size_estimated=quant.size_estimated, placement=plan.placement,
        n_gpu_layers=plan.gpu_layers, context=candidate.context,
        memory={"fits": plan.fits, "estimated": candidate.shape.estimated,
                "estimate_note": candidate.shape.estimate_note, **plan.memory_dict()},
        speed=_speed_record(rec.speed), score=round(rec.score, 1),
        quality_basis={2: "use-case benchmarks", 1: "other benchmarks (proxy)",
                       0: "no benchmark"}[rec.quality.level],
        components={name: _component_record(part) for name, part in rec.components.items()},
        why=_why(rec), quant_reason=rec.quant_reason or None,
        quality_detail={"known_share": round(rec.quality.known_share, 3),
                        "scores": [use.to_dict() for use in rec.quality.detail]},
        gpu_split=gpu_split(plan), comparison=_comparison(rec, result, catalog),
        guidance=result.use_case.guidance or None,
        license=LicenseRecord(model.license.name, model.license.commercial, model.license.gated),
        capabilities=tuple(sorted(model.capabilities)),
        # A file added with `picker catalog add` is already here: nothing to download.
        commands=CommandsRecord(None if _local_only(model) else f"picker download {target}",
                                smoke, llama_server),
        notes=tuple(notes), cost=cost, n_cpu_moe=moved,
    )


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


def recommendation_dict(rank: int, rec: Recommendation, result: RankResult, catalog: Catalog,
                        snapshot: HardwareSnapshot) -> JsonObject:
    """One `--json` row."""
    return recommendation_record(rank, rec, result, catalog, snapshot).to_dict()


def recommendation_records(result: RankResult, catalog: Catalog,
                           snapshot: HardwareSnapshot) -> tuple[RecommendationRecord, ...]:
    return tuple(recommendation_record(i, rec, result, catalog, snapshot)
                 for i, rec in enumerate(result.recommendations, start=1))


def speed_basis_dict(result: RankResult) -> dict[str, object]:
    return {device: {"label": bw.label, "bytes_per_second": round(bw.bytes_per_second),
                     "kind": bw.kind, "source": bw.source,
                     "efficiency": [bw.efficiency.low, bw.efficiency.central, bw.efficiency.high],
                     "prompt": bw.prompt_source}
            for device, bw in result.bandwidths.items()}


def render_text(result: RankResult, records: Sequence[RecommendationRecord],
                what_if: str = "") -> str:
    """A table plus the why lines, for people; `what_if` lists a what-if machine's assumptions."""
    case = result.use_case
    context = result.options.context or case.default_context
    machine = "the what-if machine" if what_if else "this machine"
    lines = [f"Best models for {case.title} on {machine} "
             f"(context {context:,}; minimum {result.options.min_tokens_per_second:g} tokens/s):",
             *([f"What-if machine: {what_if}"] if what_if else []), ""]
    if not records:
        excluded = "; ".join(f"{len(ids)} {reason}" for reason, ids in result.excluded.items())
        lines.append(f"Nothing to recommend ({excluded}).")
        return "\n".join(lines)
    where = max(8, *(len(record.where) for record in records))
    lines.append(f"{'#':>2}  {'model':<32} {'quant':<9} {'where':<{where}} {'tokens/s':>12} "
                 f"{'download':>10} {'score':>6}  quality from")
    for record in records:
        speed = record.speed
        shown = f"{speed.measured:.0f} measured" if speed.measured else f"~{speed.estimate:.0f}"
        lines.append(f"{record.rank:>2}  {record.model_id:<32} {record.quant:<9} "
                     f"{record.where:<{where}} {shown:>12} "
                     f"{format_size(record.download_bytes):>10} "
                     f"{record.score:>6.1f}  {record.quality_basis}")
    lines.append("")
    for record in records[:3]:
        lines.append(f"{record.rank}. {record.name} {record.quant}")
        for name in ("quality", "quant", "speed", "fit", "split", "context"):
            if name in record.why:
                lines.append(f"   {name}: {record.why[name]}")
        comparison = record.comparison
        if comparison and comparison["closed"]:
            closed = ", ".join(f"{c['name']} {c['score']:g}"
                               + ("" if c["same_setting"] else " (other setting)")
                               for c in _closed(comparison))
            lines.append(f"   vs closed models on {comparison['compared_as']}: "
                         f"{comparison['local_score']:g} here; {closed}")
        if record.cost is not None:
            lines.append(f"   cost ({record.cost['tokens_per_month']:,} tokens/month): "
                         f"{record.cost['summary']}")
        lines.extend(f"   note: {note}" for note in record.notes)
        commands = (record.commands.download, record.commands.llama_server
                    or record.commands.smoke)
        lines.append("   run: " + " && ".join(command for command in commands if command))
    if case.guidance:
        lines.extend(["", f"Note: {case.guidance}"])
    seed = next((record.cost["seed_claim"] for record in records if record.cost is not None),
                None)
    if isinstance(seed, dict):
        lines.extend(["", f"The source document's cost claim: {seed['claim']}.",
                      f"From the cited prices: {seed['differs']}."])
    return "\n".join(lines)


def _closed(comparison: JsonObject) -> list[dict[str, object]]:
    closed = comparison["closed"]
    return closed if isinstance(closed, list) else []
