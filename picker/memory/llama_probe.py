"""Ask llama.cpp itself how much memory a model needs, in a child process.

Two modes: a no-alloc dry run (llama.cpp plans every buffer without allocating
or reading tensor data: tens of milliseconds) and a real load (mmap, buffers
allocated). Both run `python -m picker.memory.llama_probe` in a child so a native
crash in llama.cpp cannot take picker down; the child captures llama.cpp's log
through `llama_log_set` and prints it back as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from picker.errors import RuntimeFailureError
from picker.llama_settings import GGML_TYPE_IDS, LlamaSettings
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
    payload = {**asdict(request), "contexts": [c.to_wire() for c in request.contexts]}
    command = [sys.executable, "-m", "picker.memory.llama_probe", json.dumps(payload)]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeFailureError(
            f"llama.cpp did not finish loading {request.model_path} within {timeout_seconds:.0f} s"
        ) from None
    try:
        replies = json.loads(completed.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        error = f"llama.cpp exited with code {completed.returncode}: {tail}"
        return [ProbeResult(c, False, LlamaLog(), (), error) for c in request.contexts]
    results = []
    for settings, reply in zip(request.contexts, replies, strict=False):
        lines = tuple(str(line) for line in reply.get("lines", []))
        results.append(ProbeResult(
            settings, bool(reply.get("ok")), parse_llama_log(lines), lines, reply.get("error")
        ))
    return results


def _reason(error: str, lines: list[str]) -> str:
    """llama.cpp logs why it refused as its last line before giving up."""
    said = [line.strip() for line in lines if line.strip()]
    return f"{error}: {said[-1]}" if said else error


def _child(request: ProbeRequest) -> list[dict[str, Any]]:
    import ctypes

    import llama_cpp

    pieces: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def collect(level: int, text: bytes, user_data: Any) -> None:
        pieces.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    llama_cpp.llama_backend_init()
    model_params = llama_cpp.llama_model_default_params()
    model_params.n_gpu_layers = request.n_gpu_layers
    if request.dry_run:
        model_params.no_alloc = True
        model_params.load_mode = llama_cpp.LLAMA_LOAD_MODE_NONE
    else:
        model_params.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP
    model = llama_cpp.llama_model_load_from_file(request.model_path.encode(), model_params)
    model_lines = "".join(pieces).splitlines()
    if not model:
        error = _reason("llama.cpp could not load the model", model_lines)
        return [{"ok": False, "error": error, "lines": model_lines} for _ in request.contexts]
    replies = []
    for settings in request.contexts:
        pieces.clear()
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = settings.n_ctx
        params.n_batch = min(settings.n_ctx, settings.n_batch)
        params.n_ubatch = min(params.n_batch, settings.n_ubatch)
        params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if settings.flash_attn
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        params.swa_full = settings.swa_full
        params.n_seq_max = settings.n_seq_max
        params.kv_unified = settings.kv_unified
        params.type_k = GGML_TYPE_IDS[settings.type_k]
        params.type_v = GGML_TYPE_IDS[settings.type_v]
        context = llama_cpp.llama_init_from_model(model, params)
        if context:
            llama_cpp.llama_free(context)
        context_lines = "".join(pieces).splitlines()
        lines = model_lines + context_lines
        failure = None if context else _reason("llama.cpp could not create the context",
                                                context_lines)
        replies.append({"ok": failure is None, "error": failure, "lines": lines})
    llama_cpp.llama_model_free(model)
    return replies


def main(argv: list[str]) -> int:
    payload = json.loads(argv[0])
    contexts = tuple(LlamaSettings.from_wire(c) for c in payload.pop("contexts"))
    request = ProbeRequest(**payload, contexts=contexts)
    if not Path(request.model_path).is_file():
        error = {"ok": False, "error": f"no such file: {request.model_path}", "lines": []}
        print(json.dumps([error] * len(contexts)))
        return 0
    print(json.dumps(_child(request)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
