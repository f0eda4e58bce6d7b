"""Download progress as plain events: one stream feeds the stderr bar, the JSON lines and the TUI.

The downloader reports bytes; `ProgressTracker` turns them into throttled events with
a rate and an ETA and hands them to any callback (the TUI passes its own).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TextIO

from picker.safetext import escape_controls
from picker.units import format_size

# Event kinds, in the order a download goes through them.
KINDS = (
    "resolved",  # metadata known: total_bytes of this file
    "waiting_for_lock",  # another picker process is downloading the same file
    "already_present",  # verified file found; nothing fetched
    "progress",  # bytes arriving
    "verifying",  # hashing (with a message: a step; without: done_bytes of an existing file hashed)
    "retry",  # the connection dropped or the server failed; resuming after a pause
    "done",  # verified and in place
)


@dataclass(frozen=True)
class ProgressEvent:
    kind: str
    filename: str
    part_index: int  # 1-based, for split models
    part_count: int
    done_bytes: int
    total_bytes: int
    resumed_from_bytes: int = 0
    rate_bytes_per_second: float | None = None
    eta_seconds: float | None = None
    message: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"event": self.kind, **{k: v for k, v in asdict(self).items() if k != "kind"}}


ProgressCallback = Callable[[ProgressEvent], None]


class ProgressTracker:
    """Rate over a sliding window, ETA, and at most `max_per_second` progress events."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        filename: str,
        part_index: int,
        part_count: int,
        total_bytes: int,
        max_per_second: float = 10.0,
        window_seconds: float = 3.0,
        cancel: threading.Event | None = None,
    ) -> None:
        self._callback = callback
        self.cancel = cancel
        self._filename = filename
        self._part_index = part_index
        self._part_count = part_count
        self.total_bytes = total_bytes
        self.resumed_from_bytes = 0
        self.done_bytes = 0
        self._min_interval = 1.0 / max_per_second
        self._window_seconds = window_seconds
        self._samples: deque[tuple[float, int]] = deque()
        self._last_emit = 0.0

    def event(self, kind: str, message: str | None = None) -> None:
        if self._callback is None:
            return
        rate = self.rate()
        remaining = self.total_bytes - self.done_bytes
        eta = remaining / rate if rate and remaining > 0 else (0.0 if remaining <= 0 else None)
        self._callback(
            ProgressEvent(
                kind=kind,
                filename=self._filename,
                part_index=self._part_index,
                part_count=self._part_count,
                done_bytes=self.done_bytes,
                total_bytes=self.total_bytes,
                resumed_from_bytes=self.resumed_from_bytes,
                rate_bytes_per_second=rate,
                eta_seconds=eta,
                message=message,
            )
        )

    def start(self, resumed_from_bytes: int) -> None:
        self.resumed_from_bytes = resumed_from_bytes
        self.done_bytes = resumed_from_bytes
        self._samples.clear()
        self._samples.append((time.monotonic(), resumed_from_bytes))

    def check_cancel(self) -> None:
        """A cancel from the TUI stops the download like Ctrl-C: the partial file stays."""
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt

    def advance(self, done_bytes: int, kind: str = "progress") -> None:
        """Bytes done so far; `kind="verifying"` while hashing a file already on disk."""
        self.check_cancel()
        now = time.monotonic()
        self.done_bytes = done_bytes
        self._samples.append((now, done_bytes))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window_seconds:
            self._samples.popleft()
        if now - self._last_emit >= self._min_interval or done_bytes >= self.total_bytes:
            self._last_emit = now
            self.event(kind)

    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (first_time, first_bytes), (last_time, last_bytes) = self._samples[0], self._samples[-1]
        elapsed = last_time - first_time
        return (last_bytes - first_bytes) / elapsed if elapsed > 0 else None


def _format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class StderrBar:
    """A one-line bar for people: `[1/2] file.gguf  42% |####    | 1.2 GiB/2.9 GiB 85.0 MiB/s ETA 00:21`."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._width = width
        self._open_line = False
        self._plain_interval_seconds = 5.0
        self._last_plain_line = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        # The file name and messages come from the Hub: shown escaped, before the bar's own \r.
        label = escape_controls(f"[{event.part_index}/{event.part_count}] {event.filename}")
        if event.kind == "progress" or (event.kind == "verifying" and event.message is None):
            if event.kind == "verifying":
                label += " (checking sha256)"
            total = max(event.total_bytes, 1)
            fraction = min(event.done_bytes / total, 1.0)
            filled = int(fraction * self._width)
            rate = format_size(event.rate_bytes_per_second) + "/s" if event.rate_bytes_per_second else "-"
            line = (
                f"{label} {fraction * 100:5.1f}% |{'#' * filled}{' ' * (self._width - filled)}| "
                f"{format_size(event.done_bytes)}/{format_size(event.total_bytes)} {rate} "
                f"ETA {_format_eta(event.eta_seconds)}"
            )
            if self._stream.isatty():
                self._stream.write("\r" + line + "\x1b[K")
                self._open_line = True
            else:  # a log file: a plain line every few seconds, not hundreds of \r updates
                now = time.monotonic()
                finished = event.done_bytes >= event.total_bytes
                if now - self._last_plain_line < self._plain_interval_seconds and not finished:
                    return
                self._last_plain_line = now
                self._stream.write(line + "\n")
            self._stream.flush()
            return
        text = self._describe(event, label)
        if text is None:
            return
        if self._open_line:
            self._stream.write("\n")
            self._open_line = False
        self._stream.write(text + "\n")
        self._stream.flush()

    @staticmethod
    def _describe(event: ProgressEvent, label: str) -> str | None:
        size = format_size(event.total_bytes)
        if event.kind == "resolved":
            if event.resumed_from_bytes:
                return (
                    f"{label}: {size}, resuming from {format_size(event.resumed_from_bytes)}"
                )
            return f"{label}: {size}"
        if event.kind in ("retry", "waiting_for_lock", "verifying"):
            return f"{label}: {escape_controls(event.message)}" if event.message else None
        if event.kind == "done":
            return f"{label}: done, sha256 verified"
        return None


class JsonLines:
    """Progress events as JSON lines on stderr (`--json`): one object per event."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr

    def __call__(self, event: ProgressEvent) -> None:
        self._stream.write(json.dumps(event.to_json()) + "\n")
        self._stream.flush()
