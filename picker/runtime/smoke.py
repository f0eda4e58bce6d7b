"""The smoke test: load the model for real with the plan's settings, run a fixed prompt, measure.

A failure is a result too (passed: false, with llama.cpp's reason), and every
result goes to the history so the ranking can use measured speeds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from picker.errors import ExitCode, InterruptedByUserError, PickerError
from picker.hardware.model import HardwareSnapshot
from picker.llama_settings import LlamaSettings
from picker.runtime.engine import GenerationStats, LlamaEngine, LoadReport
from picker.runtime.gpu_memory import nvidia_used_bytes, used_delta_bytes
from picker.runtime.plan import RunPlan
from picker.runtime.settings import RuntimeLimits
from picker.targets.on_disk import ModelTarget

# Long enough (about 60 tokens) for a prompt speed that means something, short enough for CI.
SMOKE_PROMPT = (
    "The following is a short encyclopedia entry about the water cycle. Water evaporates from "
    "oceans, lakes and rivers, rises as vapour, cools, and condenses into clouds. When the "
    "droplets grow heavy enough they fall as rain or snow, flow back through rivers and "
    "groundwater, and the cycle begins again. In one sentence, the water cycle is"
)
SMOKE_MAX_TOKENS = 32


@dataclass(frozen=True)
class SmokeRequest:
    """What `picker smoke` (from its flags) and the TUI (from a row) ask a smoke test for."""

    settings: LlamaSettings  # as asked; n_gpu_layers None: as many as fit (its n_ctx is unused)
    context: int | None = None  # tokens; None: what `picker recommend` plans with
    load_timeout_seconds: float | None = None  # None: sized to the file
    generation_timeout_seconds: float | None = 300.0
    force: bool = False  # load even when the memory plan says it does not fit


@dataclass(frozen=True)
class SmokeOutcome:
    document: dict[str, Any]  # the keys: passed, reason, settings, load_seconds, ...
    error: PickerError | None  # why it failed, with the exit code to return


@dataclass(frozen=True)
class SmokeResult:
    """A smoke test run and recorded: its document (with `history_id`), exit code, warnings."""

    document: dict[str, Any]
    exit_code: int
    warnings: list[str]


def smoke_test(target: ModelTarget, request: SmokeRequest,
               cancel: threading.Event | None = None) -> SmokeResult:
    """Plan, load, measure and record the smoke test of a model on disk; `cancel` (the TUI's
    x key) stops it, nothing recorded."""
    from picker.hardware.probe import probe_hardware
    from picker.runtime.plan import plan_run

    snapshot = probe_hardware()
    run_plan = plan_run(target.path, snapshot, request.settings, context=request.context,
                        allow_overcommit=request.force)
    limits = RuntimeLimits.for_file(target.path.stat().st_size, request.load_timeout_seconds,
                                    request.generation_timeout_seconds)
    outcome = run_smoke(target, run_plan, limits, cancel)
    document = outcome.document
    document["history_id"] = record(
        "smoke", target, snapshot, document["settings"], document["passed"], document["reason"],
        history_measurements(document),
    )
    exit_code = 0
    warnings = list(run_plan.warnings)
    if not document["passed"]:
        exit_code = int(outcome.error.exit_code if outcome.error else ExitCode.RUNTIME_FAILURE)
        warnings.append(f"smoke test failed: {document['reason']}")
    return SmokeResult(document, exit_code, warnings)


def run_smoke(target: ModelTarget, run_plan: RunPlan, limits: RuntimeLimits,
              cancel: threading.Event | None = None) -> SmokeOutcome:
    """Load, generate SMOKE_MAX_TOKENS tokens, measure; raises no PickerError but a cancel's."""
    gpu_before = nvidia_used_bytes()
    gpu_after: list[int] | None = None
    engine = LlamaEngine(target.path, run_plan.settings, limits, cancel)
    report: LoadReport | None = None
    stats: GenerationStats | None = None
    error: PickerError | None = None
    try:
        report = engine.start()
        for _piece in engine.complete(SMOKE_PROMPT, max_tokens=SMOKE_MAX_TOKENS):
            pass
        stats = engine.last_stats
        gpu_after = nvidia_used_bytes()  # while the model is still loaded
    except InterruptedByUserError:
        raise  # a cancelled test is no result: nothing is recorded
    except PickerError as failure:
        error = failure
    except KeyboardInterrupt:
        engine.kill()  # at once: a polite exit would wait for a load in progress
        raise
    finally:
        engine.close()
    reason = error.message if error is not None else None
    if error is None and (stats is None or stats.generated_tokens < 1 or not stats.text.strip()):
        reason = "the model loaded but generated no text"
    return SmokeOutcome(
        document=_document(target, run_plan, report, stats, reason,
                           used_delta_bytes(gpu_before, gpu_after)),
        error=error,
    )


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _document(target: ModelTarget, run_plan: RunPlan, report: LoadReport | None,
              stats: GenerationStats | None, reason: str | None,
              gpu_used_bytes: int | None) -> dict[str, object]:
    from picker.memory.llama_log import parse_llama_log
    from picker.runtime.measured_memory import memory_section

    peaks = [value for value in (report and report.peak_rss_bytes, stats and stats.peak_rss_bytes)
             if value]
    memory = memory_section(run_plan.memory_plan,
                            parse_llama_log(report.log_lines) if report is not None else None)
    return {
        "passed": reason is None,
        "reason": reason,
        "model": {
            "target": target.label, "path": str(target.path),
            "size_bytes": target.path.stat().st_size if target.path.exists() else None,
            "hub_repo": target.hub_repo, "hub_filename": target.hub_filename,
            "hub_revision": target.hub_revision,
        },
        "settings": run_plan.settings.load_dict(),
        "load_seconds": _rounded(report.load_seconds if report else None),
        "time_to_first_token_seconds": _rounded(stats.time_to_first_token_seconds if stats else None),
        "prompt_tokens_per_second": _rounded(stats.prompt_tokens_per_second if stats else None, 2),
        "generation_tokens_per_second": _rounded(
            stats.generation_tokens_per_second if stats else None, 2),
        "prompt_tokens": stats.prompt_tokens if stats else None,
        "generated_tokens": stats.generated_tokens if stats else None,
        "peak_rss_bytes": max(peaks) if peaks else None,
        "gpu_memory_used_bytes": gpu_used_bytes,
        "memory": memory,
        "text": stats.text if stats else None,
        "warnings": list(run_plan.warnings),
    }


def history_measurements(document: dict[str, Any]) -> dict[str, object]:
    """The figures the history keeps from a smoke document."""
    memory = document["memory"]
    keys = ("load_seconds", "time_to_first_token_seconds", "prompt_tokens_per_second",
            "generation_tokens_per_second", "peak_rss_bytes", "gpu_memory_used_bytes",
            "prompt_tokens", "generated_tokens")
    return {
        **{key: document.get(key) for key in keys},
        "estimated_bytes": memory["estimated_bytes"],
        "measured_bytes": memory["measured_bytes"],
        "error_pct": memory["error_pct"],
        "memory_devices": memory["devices"],
    }


def record(kind: str, target: ModelTarget, snapshot: HardwareSnapshot,
           settings: Mapping[str, object], passed: bool, reason: str | None,
           measurements: Mapping[str, object]) -> int | None:
    """Store a run in the history; returns its id, or None (with a warning) when the history
    cannot be written: the run's own result stands either way."""
    from picker.errors import RuntimeFailureError
    from picker.history import History, ModelFile, machine_fingerprint
    from picker.history.fingerprint import sha256_from_hub_cache
    from picker.output import warn

    history = History.open()
    try:
        sha256 = target.sha256 or sha256_from_hub_cache(target.path)
        if sha256 is None and target.path.is_file():
            sha256 = history.sha256_of(target.path)
        model = ModelFile(
            name=target.path.name, size_bytes=target.path.stat().st_size if target.path.exists() else 0,
            sha256=sha256, hub_repo=target.hub_repo, hub_filename=target.hub_filename,
            hub_revision=target.hub_revision, path=str(target.path.resolve()),
        )
        return history.record_run(kind=kind, machine=machine_fingerprint(snapshot), model=model,
                                  settings=settings, passed=passed, reason=reason,
                                  measurements=measurements)
    except RuntimeFailureError as error:
        history.notices.append(f"this {kind} run was not saved in the history: {error.message}")
        return None
    finally:
        for notice in history.notices:
            warn(notice)
