"""`picker fit MODEL:QUANT --ctx N --emit llama-server` for a ranked row, run in-process.

The detail pane's settings advice and the command the copy key puts on the clipboard are
the CLI's own document for the same row and the same machine (the what-if flags passed on),
so the TUI never says something `picker fit` would not. Blocking (a probe and a plan, with
the advisor's re-plans): the app runs it in a worker thread. No Textual here.
"""

from __future__ import annotations

from typing import Any

from picker.errors import PickerError
from picker.hardware.overrides import HardwareOverrides
from picker.rank.records import RecommendationRecord


def fit_arguments(row: RecommendationRecord) -> list[str]:
    """The `picker fit` arguments for this row: its quant and context; a mixture of experts
    lets the solver keep experts on the CPU (`--n-cpu-moe auto`), as the ranking does."""
    arguments = ["fit", f"{row.model_id}:{row.quant}", "--ctx", str(row.context)]
    active, total = row.active_parameters, row.parameters
    if active is not None and total is not None and 0 < active < total:
        arguments += ["--n-cpu-moe", "auto"]
    return [*arguments, "--emit", "llama-server"]


def fit_row(row: RecommendationRecord, overrides: HardwareOverrides) -> dict[str, Any]:
    """`picker fit`'s --json document for the row (its `emit.text` is the llama-server line,
    its `advice` the settings advisor's); on a refusal, {"error": the one-line message}."""
    from dataclasses import replace

    from picker.commands.fit import request_for
    from picker.fitting import fit_inputs, fit_report

    arguments = fit_arguments(row)
    request = replace(request_for(arguments[1:]), overrides=overrides)  # the what-if machine
    try:
        document = fit_report(request, fit_inputs(request)).document
    except PickerError as error:
        return {"error": error.message}
    document["arguments"] = arguments
    return document


def advice_lines(document: dict[str, Any]) -> list[str]:
    """The advisor's changes as the detail pane lists them: each with what it saves, where the
    model then lands, its speed and its quality cost."""
    advice = document.get("advice")
    if not isinstance(advice, dict):
        return []
    lines = [str(advice["context_note"])] if advice.get("context_note") else []
    for change in advice.get("changes") or []:
        if not isinstance(change, dict):
            continue
        saves = change.get("saves_bytes")
        saved = f"{saves / 2**30:.2f} GiB" if isinstance(saves, int | float) else "?"
        if change.get("fits"):
            outcome = f"then fits, {change.get('placement', '?')}"
            if change.get("n_cpu_moe"):
                outcome += f", the experts of {change['n_cpu_moe']} layers in host memory"
        else:
            shortfall = change.get("shortfall_bytes") or 0
            outcome = f"still {shortfall / 2**30:.2f} GiB short"
        speed = change.get("generation_tokens_per_second")
        rate = f", ~{speed:.1f} tokens/s" if isinstance(speed, int | float) else ""
        quality = f"; quality: {change['quality']}" if change.get("quality") else ""
        lines.append(f"{change.get('label', '?')} ({change.get('flags', '')}): saves {saved}; "
                     f"{outcome}{rate}{quality}")
    return lines
