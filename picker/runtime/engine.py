"""One llama.cpp model in a child process: load it, stream answers, stop one, close.

The smoke test, `picker chat` and the TUI's quick chat all drive this class, so
they behave alike. Everything native runs in `picker.llama_child.worker`; here the
parent only writes requests, reads events, keeps llama.cpp's log, enforces the
time limits (by killing the child) and turns a dead child into one clear line.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from picker.errors import (
    InsufficientResourcesError,
    InterruptedByUserError,
    PickerError,
    RuntimeFailureError,
)
from picker.llama_child.process import (
    EOF_EVENT,
    CancelledError,
    ChildProcess,
    DeadlinePassedError,
    JsonDict,
)
from picker.llama_child.worker import LOADED_MARKER
from picker.llama_settings import LlamaSettings
from picker.runtime.availability import require_llama_cpp
from picker.runtime.failure import describe_exit, failure_from_log
from picker.runtime.settings import RuntimeLimits


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


class LlamaEngine:
    """A model loaded by llama.cpp in a child process. Not for two generations at once."""

    def __init__(self, model_path: Path, settings: LlamaSettings | None = None,
                 limits: RuntimeLimits | None = None, cancel: threading.Event | None = None) -> None:
        """`cancel` (the TUI's x) stops a load or an answer within a poll, killing the child.

        Settings llama.cpp would refuse are refused here, before a child is started."""
        self.model_path = Path(model_path)
        self._cancel = cancel
        self.settings = settings or LlamaSettings()
        self.settings.check()
        self.limits = limits or RuntimeLimits()
        self.load_report: LoadReport | None = None
        self.last_stats: GenerationStats | None = None
        self._child: ChildProcess | None = None
        self._generating = False
        self._log_mark = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoadReport:
        """Start the child and load the model within the load time limit."""
        require_llama_cpp()
        if not self.model_path.is_file():
            raise RuntimeFailureError(f"model file not found: {self.model_path}")
        self._child = ChildProcess(markers=(LOADED_MARKER,))
        deadline = time.monotonic() + self.limits.load_seconds
        self._send({"op": "load", "model_path": str(self.model_path),
                    "settings": self.settings.to_wire()})
        while True:
            event = self._next_event(deadline, "loading the model", self.limits.load_seconds)
            if event["event"] == "loaded":
                break
            if event["event"] == "error":
                self._fail(event, "loading the model")
        self._child.wait_for_marker(LOADED_MARKER)
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
        if child.alive:
            self.stop()  # an answer in progress ends first, so "exit" is read at once
            child.send({"op": "exit"})
            child.wait_for_exit(timeout=3)  # kills it when it does not end by itself
        child.close_pipes()

    def kill(self) -> None:
        if self._child is not None:
            self._child.kill()

    def __enter__(self) -> LlamaEngine:
        try:
            self.start()
        except BaseException as error:  # `with` calls __exit__ only once __enter__ returned
            self.__exit__(type(error), error)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.kill()  # Ctrl-C: a polite exit waits for a load in progress (seconds); nothing to keep
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    @property
    def alive(self) -> bool:
        """Whether the llama.cpp process is running (False before start, after a crash or close)."""
        return self._child is not None and self._child.alive

    @property
    def log_lines(self) -> tuple[str, ...]:
        return () if self._child is None else self._child.log_lines()

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
        self._log_mark = self._child.lines_read
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
        if self._child is None:
            raise RuntimeFailureError("the llama.cpp process is not running")
        if not self._child.send(request):
            self._died("talking to it")

    def _next_event(self, deadline: float, phase: str, limit_seconds: float) -> JsonDict:
        assert self._child is not None
        try:
            event = self._child.next_event(deadline, self._cancel)
        except CancelledError:
            self.kill()
            self._generating = False
            raise InterruptedByUserError(
                f"cancelled while {phase}; the llama.cpp process was stopped") from None
        except DeadlinePassedError:
            self.kill()
            self._generating = False
            raise RuntimeFailureError(
                f"{phase} took longer than the {limit_seconds:g} s limit; "
                "the llama.cpp process was stopped"
            ) from None
        if event is EOF_EVENT:
            self._died(phase)
        return event

    def _fail(self, event: JsonDict, phase: str) -> None:
        """An error the child reported: phrase it from llama.cpp's log when it says more."""
        if event.get("phase") == "import":
            require_llama_cpp(str(event.get("message", "")))
        if event.get("phase") == "load":
            assert self._child is not None
            self._child.wait_for_exit()
            failure = failure_from_log(self.log_lines)
        else:  # the child lives on: only what it logged during this answer counts
            assert self._child is not None
            failure = failure_from_log(self._child.log_lines(since=self._log_mark))
        if failure is None:
            raise RuntimeFailureError(f"llama.cpp failed while {phase}: {event.get('message')}")
        self._raise(failure.kind, failure.reason)

    def _died(self, phase: str) -> None:
        self._generating = False
        assert self._child is not None
        returncode = self._child.wait_for_exit()
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
