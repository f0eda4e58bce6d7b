"""Score components, each on 0..1 with a short "why", and how they combine.

score = 100 x (0.70 quality + 0.15 speed + 0.075 fit headroom + 0.075 context), over
the components that are known (a model with no published benchmark is scored on the
other three and listed after every model with one, never given a made-up quality).

- quality: the use case's benchmarks as fractions of the best published score, times the
  quant's retention (see `quality`). Quality leads: speed only has to be usable, and the
  minimum-speed filter already removes what is not.
- speed: the square root of tokens/s over the use case's comfortable speed, capped at 1:
  15 tokens/s where the text is read (general, chat, long documents, vision: three times
  reading speed), 30 where many tokens are produced unread (code, tool loops, reasoning).
  Once text comes comfortably faster than it is read a faster model is no better to read,
  so a 70B model at 16 tokens/s is not outranked by a 30B at 35 on speed (it was, by ~4
  points, when every use case counted up to 30).
- fit headroom: free memory left on the tightest device after the plan (which already
  holds the stated per-device margins), over 5 %, capped at 1.
- context: the largest context that fits over 1.5 x the target context, capped at 1.
"""

from typing import Any

from picker.catalog.types import trained_context_words
from picker.memory.plan import MemoryPlan
from picker.namedrecord import NamedRecord
from picker.rank.usecases import DEFAULT_MIN_TOKENS_PER_SECOND as DEFAULT_MIN_TOKENS_PER_SECOND
from picker.units import format_size

WEIGHTS = {"quality": 0.70, "speed": 0.15, "fit": 0.075, "context": 0.075}
FAST_TOKENS_PER_SECOND = 30.0  # UseCase.comfortable_tokens_per_second's default
COMFORTABLE_HEADROOM = 0.05  # on top of the plan's own stated margins


class Component(NamedRecord):
    score: float | None  # 0..1; None: unknown
    value: Any  # the figure behind it, in its own unit
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"score": None if self.score is None else round(self.score, 3),
                "value": self.value, "why": self.why}


def speed_score(tokens_per_second: float,
                comfortable_tokens_per_second: float = FAST_TOKENS_PER_SECOND) -> float:
    """0..1: the square root of the speed over the comfortable one (see the module note)."""
    return float(min(1.0, max(0.0, tokens_per_second) / comfortable_tokens_per_second) ** 0.5)


def speed_component(tokens_per_second: float, basis: str, placement: str,
                    comfortable_tokens_per_second: float = FAST_TOKENS_PER_SECOND,
                    experts_on_cpu: int = 0) -> Component:
    """`experts_on_cpu`: blocks whose routed experts stay on the CPU (--n-cpu-moe)."""
    where = {"gpu": "entirely on the GPU", "partial": "split between GPU and CPU",
             "cpu": "on the CPU"}[placement]
    if experts_on_cpu:
        where = ("every layer on the GPU but" if placement == "gpu" else f"{where}, and") + (
            f" the experts of {experts_on_cpu} layers on the CPU (per token it reads only the "
            "active experts' bytes of those)")
    why = f"~{tokens_per_second:.1f} tokens/s ({basis}), {where}"
    if tokens_per_second >= comfortable_tokens_per_second:
        why += (f"; counts in full from {comfortable_tokens_per_second:g} tokens/s here"
                + ("" if comfortable_tokens_per_second >= FAST_TOKENS_PER_SECOND
                   else ", as the text is read and faster does not read better"))
    return Component(speed_score(tokens_per_second, comfortable_tokens_per_second),
                     round(tokens_per_second, 1), why)


def headroom(plan: MemoryPlan) -> tuple[float, str]:
    """Fraction of free memory left on the tightest device that the plan uses."""
    tightest: tuple[float, str] = (1.0, "")
    for device in plan.devices:
        if device.free_bytes is None or device.total_bytes == 0:
            continue
        left = (device.free_bytes - device.total_bytes) / device.free_bytes if device.free_bytes else 0.0
        if left <= tightest[0]:
            tightest = (left, f"{device.device}: {format_size(device.total_bytes)} of "
                        f"{format_size(device.free_bytes)} free")
    return tightest


def fit_component(plan: MemoryPlan) -> Component:
    left, where = headroom(plan)
    why = f"fits with {left * 100:.0f} % to spare ({where})" if where else "fits (free memory unknown)"
    return Component(min(1.0, max(0.0, left) / COMFORTABLE_HEADROOM), round(left, 3), why)


def context_component(target: int, maximum: int, trained: int, native: int = 0) -> Component:
    """`trained` is the longest context planned (with RoPE scaling); `native` the trained one."""
    why = (f"runs at {target:,} tokens; up to ~{maximum:,} fit "
           f"({trained_context_words(native or trained, trained)})")
    return Component(min(1.0, maximum / (1.5 * target)) if target else 0.0, maximum, why)


def combine(components: dict[str, Component]) -> float:
    """The weighted score out of 100. An unknown component (a model without any benchmark has
    no quality) earns nothing: leaving it out would let speed, fit and context alone make 100."""
    total = weight = 0.0
    for name, component in components.items():
        total += WEIGHTS[name] * (component.score or 0.0)
        weight += WEIGHTS[name]
    return 100.0 * total / weight if weight else 0.0
