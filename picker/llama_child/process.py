"""The worker process seen from the parent: start it, write requests, read events and the log.

Two reader threads drain the child's pipes at all times (events from its
protocol stream, llama.cpp's log from stderr), so the child never blocks on a
full pipe and the parent can wait on events with a deadline, in slices short
enough that Ctrl-C and a cancel event land within a fraction of a second.
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
from pathlib import Path
from types import TracebackType
from typing import IO, Any

JsonDict = dict[str, Any]  # one protocol message, as json.loads gives it
EOF_EVENT: JsonDict = {"event": "eof"}  # the child closed its protocol stream (it has ended)
_LOG_LINES_KEPT = 100_000
_POLL_SECONDS = 0.2  # waits are sliced so Ctrl-C and signal handlers run promptly


class DeadlinePassedError(Exception):
    """No event came before the deadline (the caller kills the child and says what it was doing)."""


class CancelledError(Exception):
    """The caller's cancel event was set while waiting."""


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


class ChildProcess:
    """`python -m picker.llama_child.worker`, in its own session (the terminal's Ctrl-C is not
    its). As a context manager it is killed when the block ends by an exception (Ctrl-C
    included) and asked to exit otherwise."""

    def __init__(self, markers: tuple[str, ...] = ()) -> None:
        self.process: subprocess.Popen[str] = subprocess.Popen(
            [sys.executable, "-m", "picker.llama_child.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1, env=_child_env(),
            start_new_session=os.name == "posix",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        try:
            self._start_readers(markers)
        except BaseException:  # Ctrl-C as it starts: no half-made child is left running
            self.process.kill()
            raise

    def _start_readers(self, markers: tuple[str, ...]) -> None:
        self.events: queue.Queue[JsonDict] = queue.Queue()
        self._markers = markers  # log lines worth waiting for
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES_KEPT)
        self._log_changed = threading.Condition()
        self._log_closed = False
        self._markers_seen: set[str] = set()
        self._lines_read = 0  # ever, while the log keeps only the newest
        self._write_lock = threading.RLock()  # send() may run in a signal handler
        self._readers = [
            threading.Thread(target=self._read_events, daemon=True, name="picker-child-events"),
            threading.Thread(target=self._read_log, daemon=True, name="picker-child-log"),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: JsonDict) -> bool:
        """Write one request; False when the child can no longer read."""
        stdin = self.process.stdin
        if stdin is None:
            return False
        try:
            with self._write_lock:
                stdin.write(json.dumps(request) + "\n")
                stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def next_event(self, deadline: float, cancel: threading.Event | None = None) -> JsonDict:
        """The next event (EOF_EVENT once the child has ended), waited for in short slices."""
        while True:
            if cancel is not None and cancel.is_set():
                raise CancelledError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlinePassedError
            try:
                return self.events.get(timeout=min(remaining, _POLL_SECONDS))
            except queue.Empty:
                continue

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None and self.alive:
            self.send({"op": "exit"})
            self.wait_for_exit(timeout=3)  # kills it when it does not end by itself
        self.kill()
        self.close_pipes()

    # -- the log -------------------------------------------------------------------------

    @property
    def lines_read(self) -> int:
        with self._log_changed:
            return self._lines_read

    def log_lines(self, since: int = 0) -> tuple[str, ...]:
        """The log kept so far, or only the lines read after `since` (a `lines_read` value)."""
        with self._log_changed:
            count = min(self._lines_read - since, len(self._log))
            return tuple(self._log)[len(self._log) - count:]

    def wait_for_marker(self, marker: str, timeout: float = 3) -> None:
        with self._log_changed:
            self._log_changed.wait_for(
                lambda: self._log_closed or marker in self._markers_seen, timeout=timeout)

    def wait_for_exit(self, timeout: float = 10) -> int | None:
        """Exit status once the child has ended (killed if it takes longer), its log drained."""
        try:
            returncode: int | None = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            returncode = self.process.returncode
        with self._log_changed:
            self._log_changed.wait_for(lambda: self._log_closed, timeout=3)
        return returncode

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
            self.process.wait(timeout=10)

    def close_pipes(self) -> None:
        """After the child has exited: the readers reach end of file, then the pipes close."""
        for reader in self._readers:
            reader.join(timeout=3)
        streams: tuple[IO[str] | None, ...] = (
            self.process.stdin, self.process.stdout, self.process.stderr)
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    # -- reader threads ------------------------------------------------------------------

    def _read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                continue  # not ours; the protocol stream only carries JSON
        self.events.put(EOF_EVENT)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            text = line.rstrip("\n")
            with self._log_changed:
                self._log.append(text)
                self._lines_read += 1
                if text in self._markers:
                    self._markers_seen.add(text)
                self._log_changed.notify_all()
        with self._log_changed:
            self._log_closed = True
            self._log_changed.notify_all()
