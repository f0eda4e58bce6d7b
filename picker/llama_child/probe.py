"""The dry run's child side: load a model once, create each context asked for, keep the log.

Runs inside `picker.llama_child.worker` (the `probe` request). A dry run sets llama.cpp's
`no_alloc`, so every buffer is planned and named in the log but nothing is allocated and
no tensor data is read (tens of milliseconds); otherwise the model is mmapped and the
buffers allocated. Each context's reply carries the model's loading lines and its own.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from picker.llama_settings import GGML_TYPE_IDS, LlamaSettings

# One context's outcome as it crosses the pipe: ok, error (None when ok), lines.
ProbeReply = dict[str, bool | str | list[str] | None]


def _reason(error: str, lines: list[str]) -> str:
    """llama.cpp logs why it refused as its last line before giving up."""
    said = [line.strip() for line in lines if line.strip()]
    return f"{error}: {said[-1]}" if said else error


def probe(model_path: str, n_gpu_layers: int, dry_run: bool, contexts: list[LlamaSettings],
          restore_log: Callable[[], None]) -> list[ProbeReply]:
    """llama.cpp's own lines for loading the model and creating each context."""
    import ctypes

    import llama_cpp

    pieces: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def collect(level: int, text: bytes | None, user_data: object) -> None:
        if text:
            pieces.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        return _probe(llama_cpp, pieces, model_path, n_gpu_layers, dry_run, contexts)
    finally:
        restore_log()


def _probe(llama_cpp: ModuleType, pieces: list[str], model_path: str, n_gpu_layers: int,
           dry_run: bool, contexts: list[LlamaSettings]) -> list[ProbeReply]:
    llama_cpp.llama_backend_init()
    model_params = llama_cpp.llama_model_default_params()
    model_params.n_gpu_layers = n_gpu_layers
    if dry_run:
        model_params.no_alloc = True
        model_params.load_mode = llama_cpp.LLAMA_LOAD_MODE_NONE
    else:
        model_params.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP
    model = llama_cpp.llama_model_load_from_file(model_path.encode(), model_params)
    model_lines = "".join(pieces).splitlines()
    if not model:
        error = _reason("llama.cpp could not load the model", model_lines)
        return [{"ok": False, "error": error, "lines": model_lines} for _ in contexts]
    replies: list[ProbeReply] = []
    for settings in contexts:
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
        failure = None if context else _reason("llama.cpp could not create the context",
                                                context_lines)
        replies.append({"ok": failure is None, "error": failure,
                        "lines": model_lines + context_lines})
    llama_cpp.llama_model_free(model)
    return replies
