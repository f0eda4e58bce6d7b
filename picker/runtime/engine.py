"""One llama.cpp model in a child process: load it, stream answers, stop one, close.

The smoke test, `picker chat` and the TUI's quick chat all drive this class, so
they behave alike. Everything native runs in `picker.runtime.worker`; here the
parent only writes requests, reads events, keeps llama.cpp's log, enforces the
time limits (by killing the child) and turns a dead child into one clear line.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from picker.errors import InsufficientResourcesError, PickerError, RuntimeFailureError
from picker.runtime.availability import require_llama_cpp
from picker.runtime.failure import describe_exit, failure_from_log
from picker.runtime.settings import RuntimeLimits, RuntimeSettings
from picker.runtime.worker import LOADED_MARKER

JsonDict = dict[str, Any]
_EOF: JsonDict = {"event": "eof"}
_LOG_LINES_KEPT = 100_000
_POLL_SECONDS = 0.2  # waits are sliced so Ctrl-C and signal handlers run promptly


@dataclass(frozen=True)
class LoadReport:
    load_seconds: float
    has_chat_template: bool
    n_ctx: int
    architecture: str | None
    peak_rss_bytes: int | None
    log_lines: tuple[str, ...]  # llama.cpp's log up to the end of the load


@dataclass(frozen=True)
class GenerationStats:
    text: str
    stopped: bool  # ended by stop() rather than by the model or max_tokens
    prompt_tokens: int
    prompt_seconds: float
    generated_tokens: int  # tokens llama.cpp evaluated one at a time
    generation_seconds: float
    time_to_first_token_seconds: float | None
    total_seconds: float
    peak_rss_bytes: int | None

    @property
    def prompt_tokens_per_second(self) -> float | None:
        return _rate(self.prompt_tokens, self.prompt_seconds)

    @property
    def generation_tokens_per_second(self) -> float | None:
        return _rate(self.generated_tokens, self.generation_seconds)


def _rate(tokens: int, seconds: float) -> float | None:
    return tokens / seconds if tokens > 0 and seconds > 0 else None


def _child_env() -> dict[str, str]:
    import picker

    root = str(Path(picker.__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": root if not existing else root + os.pathsep + existing,
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "GGML_NO_BACKTRACE": "1",  # an abort should not start gdb
    }


@dataclass
class _Child:
    process: subprocess.Popen[str]
    events: queue.Queue[JsonDict] = field(default_factory=queue.Queue)
    log: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=_LOG_LINES_KEPT))
    log_changed: threading.Condition = field(default_factory=threading.Condition)
    log_closed: bool = False
    markers_seen: set[str] = field(default_factory=set)
    lines_read: int = 0  # ever, while `log` keeps only the newest
    readers: list[threading.Thread] = field(default_factory=list)


class LlamaEngine:
    """A model loaded by llama.cpp in a child process. Not for two generations at once."""

    def __init__(self, model_path: Path, settings: RuntimeSettings | None = None,
                 limits: RuntimeLimits | None = None) -> None:
        self.model_path = Path(model_path)
        self.settings = settings or RuntimeSettings()
        self.limits = limits or RuntimeLimits()
        self.load_report: LoadReport | None = None
        self.last_stats: GenerationStats | None = None
        self._child: _Child | None = None
        self._write_lock = threading.RLock()  # stop() may run in a signal handler
        self._generating = False
        self._log_mark = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoadReport:
        """Start the child and load the model within the load time limit."""
        require_llama_cpp()
        if not self.model_path.is_file():
            raise RuntimeFailureError(f"model file not found: {self.model_path}")
        process = subprocess.Popen(
            [sys.executable, "-m", "picker.runtime.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1, env=_child_env(),
            # Its own session: the terminal's Ctrl-C goes to the parent only.
            start_new_session=os.name == "posix",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        child = _Child(process)
        self._child = child
        child.readers = [
            threading.Thread(target=self._read_events, args=(child,), daemon=True,
                             name="picker-engine-events"),
            threading.Thread(target=self._read_log, args=(child,), daemon=True,
                             name="picker-engine-log"),
        ]
        for reader in child.readers:
            reader.start()
        deadline = time.monotonic() + self.limits.load_seconds
        self._send({"op": "load", "model_path": str(self.model_path),
                    "settings": self.settings.to_dict()})
        while True:
            event = self._next_event(deadline, "loading the model", self.limits.load_seconds)
            if event["event"] == "loaded":
                break
            if event["event"] == "error":
                self._fail(event, "loading the model")
        self._wait_for_log(LOADED_MARKER)
        self.load_report = LoadReport(
            load_seconds=float(event["load_seconds"]),
            has_chat_template=bool(event["has_chat_template"]),
            n_ctx=int(event["n_ctx"]),
            architecture=event.get("architecture"),
            peak_rss_bytes=event.get("peak_rss_bytes"),
            log_lines=self.log_lines,
        )
        return self.load_report

    def close(self) -> None:
        """Ask the child to exit; kill it if it does not. Safe to call twice."""
        child = self._child
        if child is None:
            return
        if child.process.poll() is None:
            try:
                self.stop()  # an answer in progress ends first, so "exit" is read at once
                self._send({"op": "exit"})
                child.process.wait(timeout=3)
            except (PickerError, subprocess.TimeoutExpired):
                self.kill()
        self._close_pipes(child)

    def kill(self) -> None:
        child = self._child
        if child is not None and child.process.poll() is None:
            child.process.kill()
            child.process.wait(timeout=10)

    def __enter__(self) -> LlamaEngine:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.process.pid

    def _lines_read(self) -> int:
        if self._child is None:
            return 0
        with self._child.log_changed:
            return self._child.lines_read

    def _log_since(self, mark: int) -> tuple[str, ...]:
        if self._child is None:
            return ()
        with self._child.log_changed:
            count = min(self._child.lines_read - mark, len(self._child.log))
            return tuple(self._child.log)[len(self._child.log) - count:]

    @property
    def log_lines(self) -> tuple[str, ...]:
        if self._child is None:
            return ()
        with self._child.log_changed:
            return tuple(self._child.log)

    # -- generation ------------------------------------------------------------------------

    def complete(self, prompt: str, *, max_tokens: int = 256,
                 temperature: float = 0.0) -> Iterator[str]:
        """Stream a plain completion of `prompt`; stats land in `last_stats`."""
        return self._stream({"mode": "completion", "prompt": prompt,
                             "max_tokens": max_tokens, "temperature": temperature})

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int = 512,
             temperature: float = 0.0) -> Iterator[str]:
        """Stream an answer rendered with the model's own chat template."""
        return self._stream({"mode": "chat", "messages": messages,
                             "max_tokens": max_tokens, "temperature": temperature})

    def stop(self) -> None:
        """Stop the answer being streamed (from any thread); the stream then ends normally."""
        if self._generating:
            with contextlib.suppress(PickerError):  # the child is gone; the stream says so
                self._send({"op": "stop"})

    def _stream(self, request: JsonDict) -> Iterator[str]:
        if self._child is None or self.load_report is None:
            raise RuntimeFailureError("the model is not loaded; call start() first")
        if self._generating:  # an earlier stream was abandoned half-way: finish it quietly
            self.stop()
            for _ in self._events_until_done():
                pass
        self.last_stats = None
        self._log_mark = self._lines_read()
        self._generating = True
        self._send({"op": "generate", **request, "seed": self.settings.seed})
        pieces: list[str] = []
        for text in self._events_until_done():
            pieces.append(text)
            yield text
        assert self._done_event is not None
        self.last_stats = _stats("".join(pieces), self._done_event)

    def _events_until_done(self) -> Iterator[str]:
        self._done_event: JsonDict | None = None
        deadline = time.monotonic() + self.limits.generation_seconds
        while True:
            event = self._next_event(deadline, "generating", self.limits.generation_seconds)
            kind = event["event"]
            if kind == "token":
                yield str(event["text"])
            elif kind == "done":
                self._generating = False
                self._done_event = event
                return
            elif kind == "error":
                self._generating = False
                self._fail(event, "generating")

    # -- plumbing --------------------------------------------------------------------------

    def _send(self, request: JsonDict) -> None:
        child = self._child
        if child is None or child.process.stdin is None:
            raise RuntimeFailureError("the llama.cpp process is not running")
        try:
            with self._write_lock:
                child.process.stdin.write(json.dumps(request) + "\n")
                child.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._died("talking to it")

    def _next_event(self, deadline: float, phase: str, limit_seconds: float) -> JsonDict:
        assert self._child is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                self._generating = False
                raise RuntimeFailureError(
                    f"{phase} took longer than the {limit_seconds:g} s limit; "
                    "the llama.cpp process was stopped"
                )
            try:
                event = self._child.events.get(timeout=min(remaining, _POLL_SECONDS))
            except queue.Empty:
                continue
            if event is _EOF:
                self._died(phase)
            return event

    def _fail(self, event: JsonDict, phase: str) -> None:
        """An error the child reported: phrase it from llama.cpp's log when it says more."""
        if event.get("phase") == "import":
            require_llama_cpp(str(event.get("message", "")))
        if event.get("phase") == "load":
            self._wait_for_exit()
            failure = failure_from_log(self.log_lines)
        else:  # the child lives on: only what it logged during this answer counts
            failure = failure_from_log(self._log_since(self._log_mark))
        if failure is None:
            raise RuntimeFailureError(f"llama.cpp failed while {phase}: {event.get('message')}")
        self._raise(failure.kind, failure.reason)

    def _died(self, phase: str) -> None:
        self._generating = False
        returncode = self._wait_for_exit()
        how = f"the llama.cpp process {describe_exit(returncode)} while {phase}"
        failure = failure_from_log(self.log_lines)
        if failure is None:
            raise RuntimeFailureError(how)
        self._raise(failure.kind, f"{failure.reason} ({how})")

    @staticmethod
    def _raise(kind: str, message: str) -> None:
        if kind == "memory":
            raise InsufficientResourcesError(message)
        raise RuntimeFailureError(message)

    def _wait_for_exit(self) -> int | None:
        assert self._child is not None
        try:
            returncode = self._child.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            returncode = self._child.process.returncode
        with self._child.log_changed:  # let the log reader drain what the child wrote last
            self._child.log_changed.wait_for(lambda: self._child is None or self._child.log_closed,
                                             timeout=3)
        return returncode

    def _wait_for_log(self, marker: str) -> None:
        assert self._child is not None
        child = self._child
        with child.log_changed:
            child.log_changed.wait_for(
                lambda: child.log_closed or marker in child.markers_seen,
                timeout=3,
            )

    @staticmethod
    def _read_events(child: _Child) -> None:
        assert child.process.stdout is not None
        for line in child.process.stdout:
            try:
                child.events.put(json.loads(line))
            except ValueError:
                continue  # not ours; the protocol stream only carries JSON
        child.events.put(_EOF)

    @staticmethod
    def _read_log(child: _Child) -> None:
        assert child.process.stderr is not None
        for line in child.process.stderr:
            text = line.rstrip("\n")
            with child.log_changed:
                child.log.append(text)
                child.lines_read += 1
                if text == LOADED_MARKER:
                    child.markers_seen.add(text)
                child.log_changed.notify_all()
        with child.log_changed:
            child.log_closed = True
            child.log_changed.notify_all()

    @staticmethod
    def _close_pipes(child: _Child) -> None:
        """The child has exited: its pipes reach end of file, the readers end, then close."""
        for reader in child.readers:
            reader.join(timeout=3)
        streams: tuple[IO[str] | None, ...] = (
            child.process.stdin, child.process.stdout, child.process.stderr)
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _stats(text: str, event: JsonDict) -> GenerationStats:
    return GenerationStats(
        text=text,
        stopped=bool(event["stopped"]),
        prompt_tokens=int(event["prompt_tokens"]),
        prompt_seconds=float(event["prompt_seconds"]),
        generated_tokens=int(event["generated_tokens"]),
        generation_seconds=float(event["generation_seconds"]),
        time_to_first_token_seconds=event.get("time_to_first_token_seconds"),
        total_seconds=float(event["total_seconds"]),
        peak_rss_bytes=event.get("peak_rss_bytes"),
    )
