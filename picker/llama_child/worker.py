"""The llama.cpp child process: `python -m picker.llama_child.worker`.

Everything native runs here, so an abort, a segfault or the OOM killer ends this
process and never the CLI or the TUI. It speaks JSON lines: requests on stdin
(`load`, `generate`, `stop`, `probe`, `exit`), events on a private copy of stdout.
fd 1 itself is pointed at stderr, so nothing llama.cpp prints can corrupt the
protocol, and llama.cpp's log (verbose) reaches the parent on stderr, where it
reads buffer sizes and failure reasons (a probe returns its lines in its reply).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, TextIO

from picker.llama_settings import GGML_TYPE_IDS, LlamaSettings

JsonDict = dict[str, Any]
# Written to stderr after a load, so the parent knows it has read the whole load log.
LOADED_MARKER = "picker-worker: loaded"
Send = Callable[[JsonDict], None]


def peak_rss_bytes() -> int | None:
    """Largest resident set this process has had, in bytes."""
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        return int(getattr(psutil.Process().memory_info(), "peak_wset", 0)) or None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _protocol_stream() -> TextIO:
    """A private stream for events; fd 1 then carries only what native code prints, to stderr."""
    sys.stdout.flush()
    private_fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(private_fd, "w", buffering=1, encoding="utf-8")


def _start_reader(inbox: queue.Queue[JsonDict], stop: threading.Event) -> None:
    """Read requests in a thread so that `stop` lands while a generation is running."""

    def read() -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("op") == "stop":
                stop.set()
            else:
                inbox.put(request)
        # End of input: the parent has closed the pipe or died. Nobody is listening any
        # more, so end now, even in the middle of a load or an answer.
        os._exit(0)

    threading.Thread(target=read, name="picker-worker-stdin", daemon=True).start()


_LOG_CALLBACK: Any = None  # kept alive: llama.cpp calls it for as long as the process runs


def _log_to_stderr() -> None:
    """llama.cpp's log, every level, as raw bytes on fd 2 (the parent decodes leniently).

    llama-cpp-python's own callback decodes each piece as strict UTF-8 and drops
    pieces that are not (a lone byte token), printing a traceback instead.
    """
    global _LOG_CALLBACK
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def write(level: int, text: bytes | None, user_data: object) -> None:
        if text:
            os.write(2, text)

    _LOG_CALLBACK = write
    llama_cpp.llama_log_set(write, ctypes.c_void_p(0))


def _llama_kwargs(model_path: str, settings: LlamaSettings) -> JsonDict:
    kwargs: JsonDict = {
        "model_path": model_path,
        "n_gpu_layers": settings.n_gpu_layers or 0,  # the plan has resolved None to a count
        "n_ctx": settings.n_ctx,
        "n_batch": settings.n_batch,
        "n_ubatch": settings.n_ubatch,
        "flash_attn": settings.flash_attn,
        "type_k": GGML_TYPE_IDS[settings.type_k],
        "type_v": GGML_TYPE_IDS[settings.type_v],
        "swa_full": settings.swa_full,
        "seed": settings.seed,
        "verbose": True,
    }
    if settings.n_threads is not None:
        kwargs["n_threads"] = settings.n_threads
    return kwargs


def _load(request: JsonDict, send: Send) -> Any:
    import llama_cpp

    started = time.perf_counter()
    try:
        settings = LlamaSettings.from_wire(request.get("settings", {}))
        llm = llama_cpp.Llama(**_llama_kwargs(request["model_path"], settings))
    except Exception as error:  # llama-cpp-python raises ValueError; the log has the reason
        send({"event": "error", "phase": "load", "message": str(error)})
        return None
    load_seconds = time.perf_counter() - started
    has_template = "tokenizer.chat_template" in llm.metadata
    if has_template:
        llm.chat_format = "chat_template.default"  # the model's own template, not a guess
    sys.stderr.write(LOADED_MARKER + "\n")
    sys.stderr.flush()
    send({
        "event": "loaded",
        "load_seconds": load_seconds,
        "has_chat_template": has_template,
        "n_ctx": llm.n_ctx(),
        "architecture": llm.metadata.get("general.architecture"),
        "peak_rss_bytes": peak_rss_bytes(),
    })
    return llm


def _pieces(llm: Any, request: JsonDict) -> Generator[str, None, None]:
    """Text pieces of one streamed answer, in chat or plain-completion mode."""
    options = {
        "max_tokens": int(request.get("max_tokens", 256)),
        "temperature": float(request.get("temperature", 0.0)),
        "seed": int(request.get("seed", 1234)),
        "stream": True,
    }
    if request.get("mode") == "chat":
        for chunk in llm.create_chat_completion(messages=request["messages"], **options):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                yield text
    else:
        for chunk in llm.create_completion(request["prompt"], **options):
            text = chunk["choices"][0]["text"]
            if text:
                yield text


def _generate(llm: Any, request: JsonDict, stop: threading.Event, send: Send) -> None:
    import llama_cpp

    stop.clear()
    llama_cpp.llama_perf_context_reset(llm.ctx)
    started = time.perf_counter()
    first_token_at: float | None = None
    stopped = False
    pieces = _pieces(llm, request)
    try:
        for text in pieces:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            send({"event": "token", "text": text})
            if stop.is_set():
                stopped = True
                break
    except Exception as error:
        send({"event": "error", "phase": "generate", "message": str(error)})
        return
    finally:
        pieces.close()
    finished_at = time.perf_counter()
    perf = llama_cpp.llama_perf_context(llm.ctx)
    send({
        "event": "done",
        "stopped": stopped,
        "prompt_tokens": int(perf.n_p_eval),
        "prompt_seconds": float(perf.t_p_eval_ms) / 1000.0,
        "generated_tokens": int(perf.n_eval),
        "generation_seconds": float(perf.t_eval_ms) / 1000.0,
        "time_to_first_token_seconds": (
            None if first_token_at is None else first_token_at - started
        ),
        "total_seconds": finished_at - started,
        "peak_rss_bytes": peak_rss_bytes(),
    })


def _probe(request: JsonDict, send: Send) -> None:
    """The memory plan's dry run: each context's outcome and llama.cpp's lines for it."""
    from picker.llama_child.probe import probe

    try:
        contexts = [LlamaSettings.from_wire(wire) for wire in request["contexts"]]
        replies = probe(str(request["model_path"]), int(request["n_gpu_layers"]),
                        bool(request["dry_run"]), contexts, restore_log=_log_to_stderr)
    except (KeyError, TypeError, ValueError) as error:
        send({"event": "error", "phase": "protocol", "message": f"bad probe request: {error}"})
        return
    send({"event": "probed", "replies": replies})


def main() -> int:
    protocol = _protocol_stream()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the parent

    def send(event: JsonDict) -> None:
        protocol.write(json.dumps(event) + "\n")

    inbox: queue.Queue[JsonDict] = queue.Queue()
    stop = threading.Event()
    _start_reader(inbox, stop)
    try:
        import llama_cpp  # noqa: F401
    except ImportError as error:
        send({"event": "error", "phase": "import", "message": str(error)})
        return 1
    _log_to_stderr()
    send({"event": "ready", "pid": os.getpid()})
    llm: Any = None
    while True:
        request = inbox.get()
        op = request.get("op")
        if op == "exit":
            return 0
        if op == "load":
            llm = _load(request, send)
            if llm is None:
                return 1
        elif op == "generate" and llm is not None:
            _generate(llm, request, stop, send)
        elif op == "probe":
            _probe(request, send)
        else:
            send({"event": "error", "phase": "protocol", "message": f"unexpected request {op!r}"})


if __name__ == "__main__":
    sys.exit(main())
