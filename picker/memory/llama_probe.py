"""Ask llama.cpp itself how much memory a model needs, in a child process.

Two modes: a no-alloc dry run (llama.cpp plans every buffer without allocating
or reading tensor data: tens of milliseconds) and a real load (mmap, buffers
allocated). Both run in the llama.cpp child the runtime uses
(`picker.llama_child`), so a native crash in llama.cpp cannot take picker down
and Ctrl-C kills the child at once; the child returns llama.cpp's log per context.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from picker.errors import RuntimeFailureError
from picker.llama_child.process import EOF_EVENT, ChildProcess, DeadlinePassedError, JsonDict
from picker.llama_settings import LlamaSettings
from picker.memory.llama_log import LlamaLog, parse_llama_log


@dataclass(frozen=True)
class ProbeRequest:
    model_path: str
    contexts: tuple[LlamaSettings, ...] = (LlamaSettings(),)
    n_gpu_layers: int = 0
    dry_run: bool = True


@dataclass(frozen=True)
class ProbeResult:
    """One context's outcome; `log` includes the model-loading lines."""

    settings: LlamaSettings
    ok: bool
    log: LlamaLog
    lines: tuple[str, ...]
    error: str | None


def run_probe(request: ProbeRequest, timeout_seconds: float = 300.0) -> list[ProbeResult]:
    """Load the model once in a child process, create each context, return llama.cpp's lines."""
    if not Path(request.model_path).is_file():
        return _failed(request, f"no such file: {request.model_path}")
    deadline = time.monotonic() + timeout_seconds
    with ChildProcess() as child:  # an exception (Ctrl-C included) kills it
        child.send({"op": "probe", "model_path": request.model_path,
                    "n_gpu_layers": request.n_gpu_layers, "dry_run": request.dry_run,
                    "contexts": [settings.to_wire() for settings in request.contexts]})
        try:
            event = _answer(child, deadline)
        except DeadlinePassedError:
            child.kill()
            raise RuntimeFailureError(
                f"llama.cpp did not finish loading {request.model_path} within "
                f"{timeout_seconds:.0f} s") from None
        if event is EOF_EVENT:
            returncode = child.wait_for_exit()
            said = [line for line in child.log_lines() if line.strip()] or ["no output"]
            return _failed(request, f"llama.cpp exited with code {returncode}: {said[-1].strip()}")
    if event["event"] == "error":
        return _failed(request, f"llama.cpp could not run: {event.get('message')}")
    results = []
    for settings, reply in zip(request.contexts, event["replies"], strict=False):
        lines = tuple(str(line) for line in reply.get("lines", []))
        results.append(ProbeResult(
            settings, bool(reply.get("ok")), parse_llama_log(lines), lines, reply.get("error")
        ))
    return results


def _answer(child: ChildProcess, deadline: float) -> JsonDict:
    """The probe's reply, an error the child reported, or EOF_EVENT when it died."""
    while True:
        event = child.next_event(deadline)
        if event is EOF_EVENT or event.get("event") in ("probed", "error"):
            return event


def _failed(request: ProbeRequest, error: str) -> list[ProbeResult]:
    return [ProbeResult(settings, False, LlamaLog(), (), error) for settings in request.contexts]
