"""The first screen's data, worked out in a child process while Textual loads.

Importing Textual and composing the first screen take ~250 ms of one core, the first
ranking (its imports, the catalog, the plans, the on-disk scan) ~100-150 ms more. In one
process they take turns on the interpreter, so the rows came only after both. `start`
forks a child before Textual is imported; it probes, ranks and works out the first row's
detail on the other core and sends them back over a pipe as plain pickled data, which
the app's event loop reads without a thread. At a large catalog it answers twice: the best
rows first (a limited ranking prunes what cannot reach them), then every model that fits,
on the same probe. Anything that goes wrong in the child (or a platform without `fork`)
leaves the app to do what is missing itself, as before.

Only Linux forks here: elsewhere (macOS's system libraries are not fork-safe) the app
ranks in its worker thread as it always has. This module must not import Textual.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import signal
import struct
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple

from picker.hardware.model import HardwareSnapshot
from picker.rank.request import Ranking
from picker.tui.data import Query

READ_CHUNK_BYTES = 1 << 20
PIPE_BYTES = 1 << 20  # Linux's default most for a pipe (/proc/sys/fs/pipe-max-size)
LENGTH = struct.Struct(">Q")  # each answer on the pipe: its length, then its pickle
# A catalog of more models than this is ranked in two steps: the best FIRST_ROWS rows, then
# every model that fits (at 5,000 models ~0.2 s, then ~1.1 s more on a 2-core machine; at
# today's ~140 the whole ranking takes ~0.1 s, less than Textual takes to start).
TWO_STEPS_ABOVE_MODELS = 500
FIRST_ROWS = 100  # more than a screen holds


class FirstScreen(NamedTuple):
    """One answer of the child: the probe, a ranking and its top row's detail extras."""

    snapshot: HardwareSnapshot
    ranking: Ranking
    top_details: dict[str, Any] | None  # model_details of ranking.records[0], if any
    complete: bool  # every model that fits; False: the best FIRST_ROWS, the rest to follow


def first_screens(query: Query) -> Iterator[FirstScreen]:
    """The probe, the ranking and the top row's extras, as the app would work them out: at a
    large catalog the best FIRST_ROWS first, then every model that fits, on the same probe."""
    from picker.catalog import load_catalog
    from picker.hardware.probe import probe_hardware
    from picker.rank.request import on_disk_quants
    from picker.tui.data import recommendations

    snapshot = probe_hardware(query.overrides)
    here = on_disk_quants()
    two_steps = len(load_catalog().models) > TWO_STEPS_ABOVE_MODELS
    if two_steps:
        best = recommendations(query, snapshot, here, limit=FIRST_ROWS)
        yield FirstScreen(snapshot, best, _top_details(best, snapshot), complete=False)
    ranking = recommendations(query, snapshot, here)
    # (after two steps the app keeps the top row's extras by its key already)
    yield FirstScreen(snapshot, ranking, None if two_steps else _top_details(ranking, snapshot),
                      complete=True)


def _top_details(ranking: Ranking, snapshot: HardwareSnapshot) -> dict[str, Any] | None:
    from picker.tui.data import model_details

    top = ranking.records[0] if ranking.records else None
    return model_details(top.model_id, snapshot, top.context) if top is not None else None


class HeadStart:
    """A forked child working out the first screen for `query`; its answers are read once."""

    def __init__(self, query: Query, pid: int, read_fd: int) -> None:
        self.query = query
        self.pid = pid
        self.read_fd: int | None = read_fd
        self.received = bytearray()
        self.done = False  # the child closed the pipe: every answer it gave is read
        self.complete = False  # an answer with every model that fits was read

    def poll(self) -> list[FirstScreen]:
        """The answers the pipe holds complete now, read without waiting; `done` says when the
        child has closed it (it stops and is reaped then). An answer that cannot be read ends
        the reading: the app works out what is missing itself."""
        assert self.read_fd is not None
        while not self.done:
            try:
                chunk = os.read(self.read_fd, READ_CHUNK_BYTES)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            self.received += chunk
            self.done = not chunk
        answers = []
        while len(self.received) >= LENGTH.size:
            (length,) = LENGTH.unpack_from(self.received)
            if len(self.received) < LENGTH.size + length:
                break
            payload = bytes(self.received[LENGTH.size:LENGTH.size + length])
            del self.received[:LENGTH.size + length]
            answer = _unpickled(payload)
            if answer is None:
                self.done = True
                break
            answers.append(answer)
            self.complete = self.complete or answer.complete
        if self.done:
            self.close()
        return answers

    def close(self) -> None:
        """Stop the child (if it still runs), reap it and close the pipe; safe to call twice."""
        self.done = True
        if self.read_fd is None:
            return
        os.close(self.read_fd)
        self.read_fd = None
        try:
            if os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:  # already reaped
            pass


def _unpickled(payload: bytes) -> FirstScreen | None:
    """An answer's pickle read back; None if it is not one.

    Its objects (~100,000 for a 5,000-model catalog's rows) live until the next ranking:
    read with the collector paused, then moved to its permanent generation, as the catalog
    copy's are (young collections over them cost 20-40 ms there).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        answer = pickle.loads(payload)
    except Exception:  # a child killed mid-write: the app works it out instead
        answer = None
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    return answer if isinstance(answer, FirstScreen) else None


def start(query: Query) -> HeadStart | None:
    """Fork the child that works out the first screen; None where picker does not fork.
    (`picker` calls it before any thread starts: a thread could hold a lock the child
    would then wait on forever.)"""
    if not sys.platform.startswith("linux"):
        return None
    read_fd, write_fd = os.pipe()
    # Room for the whole answer (~0.25 MB today), so the child can finish before it is read
    # (more than the system allows: the child waits for the reads).
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: never returns
        _child(query, read_fd, write_fd)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return HeadStart(query, pid, read_fd)


def _child(query: Query, read_fd: int, write_fd: int) -> None:
    """Work out the first screen and write it to the pipe; exit without Python's cleanup
    (the parent's buffers and exit handlers are the parent's)."""
    status = 1
    try:
        os.close(read_fd)
        # The terminal belongs to the app: nothing the child prints may reach it.
        quiet = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(quiet, stream)
        sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        for answer in first_screens(query):
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(LENGTH.pack(len(payload)) + payload)
            while view:
                view = view[os.write(write_fd, view):]
        status = 0
    except BaseException:  # any failure: the app works it out by itself
        status = 1
    finally:
        os._exit(status)
