"""The settings advisor: for a plan that does not fit, or fits only partly, each change that
would help, with what it saves (from re-running the planner with that change) and what it
costs (speed from picker's estimate, quality where a source measured it).

The advisor never changes what was asked for: it lists changes beside the plan, and says
why a shorter context fits when the asked one does not. One advisor serves `picker fit`
and the `--hosts` planner: each passes a `Planner` that re-solves its own placement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from picker.errors import UsageError
from picker.llama_settings import LlamaSettings
from picker.memory.machine import Machine
from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.shape import ModelShape
from picker.memory.solver import largest_fitting_context, solve_plan
from picker.units import format_size

# Re-solve the placement for these settings (the same solver the plan came from).
Planner = Callable[[LlamaSettings], MemoryPlan]
# Generation tokens/s of a plan that fits; None where there is no estimate.
SpeedOf = Callable[[MemoryPlan], float | None]

SMALLEST_ADVISED_CONTEXT = 4096  # llama.cpp's --fit shrinks the context no further

# Quality costs of a quantized KV cache, as measured elsewhere (cited, not picker's own).
KV_QUALITY = {
    "q8_0": ("small but measurable: KL-divergence against an f16 cache rises even at q8_0 "
             "(ggml-org/llama.cpp#21038, cited in lmstudio-ai/lmstudio-bug-tracker#1740)"),
    "q4_0": ("noticeable, and it grows with the context (perplexity at 8k tokens, "
             "ikawrakow/ik_llama.cpp#1547); users report damaged output "
             "(lmstudio-ai/lmstudio-bug-tracker#1740)"),
}


class Change(NamedTuple):
    """One change to the asked settings, planned."""

    key: str  # flash_attn, kv_q8_0, kv_q4_0, swa_full_off, experts_on_cpu, gpu_layers, context
    label: str
    flags: str  # what to pass to `picker fit` / llama-server
    saves_bytes: int  # memory the change frees (how: `saves_measured`)
    saves_measured: str
    plan: MemoryPlan  # the settings with this change, placement re-solved
    tokens_per_second: float | None  # of `plan`, where it fits
    quality: str  # "" where the change costs no quality

    def to_dict(self) -> dict[str, object]:
        return {
            "change": self.key, "label": self.label, "flags": self.flags,
            "saves_bytes": self.saves_bytes, "saves_measured": self.saves_measured,
            "fits": self.plan.fits, "placement": self.plan.placement,
            "n_gpu_layers": self.plan.gpu_layers, "n_ctx": self.plan.effective.n_ctx,
            "n_cpu_moe": self.plan.settings.n_cpu_moe,
            "shortfall_bytes": self.plan.shortfall_bytes,
            "generation_tokens_per_second": (None if self.tokens_per_second is None
                                             else round(self.tokens_per_second, 1)),
            "quality": self.quality or None,
        }


class Advice(NamedTuple):
    changes: tuple[Change, ...]
    context_note: str | None  # "fits 96k, not the 128k you asked for, because ..."
    largest_context: int | None  # tokens that fit with the asked settings; None: not searched
    tokens_per_second: float | None  # of the asked plan, where it fits

    def to_dict(self) -> dict[str, object]:
        return {
            "context_note": self.context_note, "largest_context": self.largest_context,
            "generation_tokens_per_second": (None if self.tokens_per_second is None
                                             else round(self.tokens_per_second, 1)),
            "changes": [change.to_dict() for change in self.changes],
        }

    def lines(self) -> list[str]:
        lines = [self.context_note] if self.context_note else []
        return lines + [_change_line(change, self.tokens_per_second) for change in self.changes]


def needs_advice(plan: MemoryPlan, has_gpus: bool) -> bool:
    """Advise a plan that does not fit, or that leaves part of the model off the GPUs."""
    return not plan.fits or (has_gpus and plan.placement != "gpu")


def _gpu_bytes(plan: MemoryPlan) -> int:
    return sum(device.total_bytes for device in plan.devices if device.device != CPU)


def _helps(plan: MemoryPlan, solved: MemoryPlan) -> bool:
    """A change helps a plan that does not fit if it fits or is less short after it, and a
    plan that fits partly if it then holds more layers on the GPUs."""
    if not plan.fits:
        return solved.fits or solved.shortfall_bytes < plan.shortfall_bytes
    return solved.fits and solved.gpu_layers > plan.gpu_layers


def _setting_changes(asked: LlamaSettings,
                     shape: ModelShape) -> list[tuple[str, str, str, LlamaSettings, str]]:
    """(key, label, flags, settings, quality) of each change to the context's settings that
    differs from what was asked."""
    changes = []
    if not asked.flash_attn:
        changes.append(("flash_attn", "flash attention on", "--flash-attn on",
                        asked._replace(flash_attn=True), ""))
    for cache in ("q8_0", "q4_0"):
        if asked.type_k in ("f16", "bf16", "f32") or (cache == "q4_0" and asked.type_k == "q8_0"):
            changes.append((f"kv_{cache}", f"KV cache {cache}",
                            f"--cache-type-k {cache} --cache-type-v {cache} --flash-attn on",
                            asked._replace(type_k=cache, type_v=cache, flash_attn=True),
                            KV_QUALITY[cache]))
    if asked.swa_full and shape.n_swa and any(shape.swa_layers):
        changes.append(("swa_full_off", "full-size sliding-window cache off", "--swa-full off",
                        asked._replace(swa_full=False),
                        "none to the model; llama-server's own default (a prompt that goes back "
                        "past the window is reprocessed instead of reused)"))
    return changes


def advise(asked: LlamaSettings, plan: MemoryPlan, planner: Planner, has_gpus: bool,
           same_placement: Planner, speed_of: SpeedOf | None = None,
           held: str = "all devices, same layers on the GPU") -> Advice:
    """Each change that frees memory for `plan` (planned with `asked`), re-planned.

    `planner` re-solves the placement as the plan's own solver does; `same_placement`
    plans settings with the plan's layers and experts left where they are (what a setting
    saves is measured there, so its saving is its own, not a different placement's).
    """
    def speed(candidate: MemoryPlan) -> float | None:
        return speed_of(candidate) if speed_of is not None and candidate.fits else None

    shape = plan.shape
    changes: list[Change] = []
    for key, label, flags, settings, quality in _setting_changes(asked, shape):
        try:
            kept = same_placement(settings)
        except UsageError:  # llama.cpp refuses it for this model (e.g. a head size vs. block)
            continue
        saves = plan.total_bytes - kept.total_bytes
        solved = planner(settings)
        if saves <= 0 or not _helps(plan, solved):
            continue
        changes.append(Change(key, label, flags, saves, held,
                              solved, speed(solved), quality))
    if has_gpus and shape.n_expert and not plan.settings.n_cpu_moe:
        every = same_placement(asked._replace(n_cpu_moe=shape.n_layer))
        solved = planner(asked._replace(n_cpu_moe=None))
        saves = _gpu_bytes(plan) - _gpu_bytes(every)
        if saves > 0 and solved.settings.n_cpu_moe and _helps(plan, solved):
            changes.append(Change(
                "experts_on_cpu", f"experts of {solved.settings.n_cpu_moe} layers on the CPU",
                f"--n-cpu-moe {solved.settings.n_cpu_moe}" + _split_flag(solved), saves,
                "GPU memory, every layer's experts moved", solved, speed(solved),
                ""))
    if has_gpus and asked.n_gpu_layers is not None and not plan.fits:
        solved = planner(asked._replace(n_gpu_layers=None))
        if solved.gpu_layers < plan.gpu_layers:
            changes.append(Change(
                "gpu_layers", f"{solved.gpu_layers} layers on the GPU, not {plan.gpu_layers}",
                f"--n-gpu-layers {solved.gpu_layers}", _gpu_bytes(plan) - _gpu_bytes(solved),
                "GPU memory", solved, speed(solved), ""))
    def shorter_context(n_ctx: int) -> MemoryPlan:
        """Advise context `n_ctx`; its plan with the layers kept where they are."""
        solved = planner(asked._replace(n_ctx=n_ctx))
        kept = same_placement(asked._replace(n_ctx=n_ctx))
        changes.append(Change(
            "context", f"context {n_ctx} tokens", f"--ctx {n_ctx}",
            plan.total_bytes - kept.total_bytes, held, solved, speed(solved),
            f"prompts and chats longer than {n_ctx} tokens do not fit"))
        return kept

    largest = None
    note = None
    if not plan.fits:
        largest = largest_fitting_context(shape, asked, lambda s: planner(s).fits)
        asked_ctx = plan.effective.n_ctx
        if 0 < largest < asked_ctx and largest >= min(SMALLEST_ADVISED_CONTEXT, asked_ctx):
            shorter = shorter_context(largest)
            note = (f"fits {largest} tokens, not the {asked_ctx} you asked for, because the KV "
                    f"cache and compute buffers grow with the context: "
                    f"{format_size(_context_bytes(plan))} at {asked_ctx} tokens, "
                    f"{format_size(_context_bytes(shorter))} at {largest}, and the plan is "
                    f"{format_size(plan.shortfall_bytes)} short (the settings asked for are "
                    "kept above; --ctx to change)")
        elif largest == 0:
            note = ("does not fit at any context: the weights alone need more memory than "
                    "is free")
    elif has_gpus:  # fits, partly on the CPU: the context at which all of it is on the GPU
        def on_gpu(settings: LlamaSettings) -> bool:
            return planner(settings).placement == "gpu"

        asked_ctx = plan.effective.n_ctx
        whole = largest_fitting_context(shape, asked, on_gpu)
        if 0 < whole < asked_ctx and whole >= min(SMALLEST_ADVISED_CONTEXT, asked_ctx):
            shorter_context(whole)
    return Advice(tuple(changes), note, largest, speed(plan))


def _split_flag(plan: MemoryPlan) -> str:
    """` --tensor-split a,b` on several GPUs: the moved experts are the first blocks', so the
    solver may re-split them (`expert_split`), which only the flag reproduces."""
    from picker.memory.expert_split import plan_shares

    shares = plan_shares(plan)
    return f" --tensor-split {','.join(map(str, shares))}" if len(shares) > 1 else ""


def _context_bytes(plan: MemoryPlan) -> int:
    return plan.total("kv_cache_bytes") + plan.total("compute_bytes")


def _change_line(change: Change, now: float | None) -> str:
    plan = change.plan
    if plan.fits:
        where = {"gpu": "entirely on the GPU", "cpu": "on the CPU"}.get(
            plan.placement, f"with {plan.gpu_layers} of {plan.shape.n_layer + 1} layers on the GPU")
        moved = plan.settings.n_cpu_moe
        outcome = f"then fits {where}" + (
            f", the experts of {moved} layers in host memory" if moved else "")
    else:
        outcome = f"still {format_size(plan.shortfall_bytes)} short"
    speed = ""
    if change.tokens_per_second is not None:
        was = f", now ~{now:.1f}" if now is not None else ""
        speed = f", ~{change.tokens_per_second:.1f} tokens/s{was}"
    quality = f"; quality: {change.quality}" if change.quality else ""
    return (f"{change.label} ({change.flags}): saves {format_size(change.saves_bytes)} "
            f"({change.saves_measured}); {outcome}{speed}{quality}")


def advise_on_machine(asked: LlamaSettings, plan: MemoryPlan, machine: Machine,
                      speed_of: SpeedOf | None = None) -> Advice | None:
    """The advice for a plan on one machine (`picker fit`); None where it fits on the GPUs
    (or on the CPU of a machine without any)."""
    has_gpus = bool(machine.gpus)
    if not needs_advice(plan, has_gpus):
        return None
    held = plan.settings

    def same_placement(settings: LlamaSettings) -> MemoryPlan:
        layers = settings._replace(n_gpu_layers=held.n_gpu_layers,
                                   n_cpu_moe=settings.n_cpu_moe or held.n_cpu_moe)
        return plan_memory(plan.shape, layers, machine)

    return advise(asked, plan, lambda settings: solve_plan(plan.shape, settings, machine),
                  has_gpus, same_placement, speed_of)
