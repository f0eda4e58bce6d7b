"""The first screen's data, worked out in a child process while Textual loads.

Importing Textual and composing the first screen take ~250 ms of one core, the first
ranking (its imports, the catalog, the plans, the on-disk scan) ~100-150 ms more. In one
process they take turns on the interpreter, so the rows came only after both. `start`
forks a child before Textual is imported; it probes, ranks and works out the first row's
detail on the other core and sends them back over a pipe as plain pickled data, which
the app's event loop reads without a thread. Anything that goes wrong in the child (or a
platform without `fork`) leaves the app to do the same work itself, as before.

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
import sys
from typing import Any, NamedTuple

from picker.hardware.model import HardwareSnapshot
from picker.rank.request import Ranking
from picker.tui.data import Query

READ_CHUNK_BYTES = 1 << 20
PIPE_BYTES = 1 << 20  # Linux's default most for a pipe (/proc/sys/fs/pipe-max-size)


class FirstScreen(NamedTuple):
    """What the child sends: the probe, the ranking and the top row's detail extras."""

    snapshot: HardwareSnapshot
    ranking: Ranking
    top_details: dict[str, Any] | None  # model_details of ranking.records[0], if any


def first_screen(query: Query) -> FirstScreen:
    """The probe, the ranking and the top row's extras, as the app would work them out."""
    from picker.hardware.probe import probe_hardware
    from picker.tui.data import model_details, recommendations

    snapshot = probe_hardware(query.overrides)
    ranking = recommendations(query)
    top = ranking.records[0] if ranking.records else None
    details = model_details(top.model_id, snapshot, top.context) if top is not None else None
    return FirstScreen(snapshot, ranking, details)


class HeadStart:
    """A forked child working out the first screen for `query`; read its answer once."""

    def __init__(self, query: Query, pid: int, read_fd: int) -> None:
        self.query = query
        self.pid = pid
        self.read_fd: int | None = read_fd
        self.received = bytearray()

    def read_available(self) -> bool:
        """Read what the pipe holds now (it is non-blocking); True once the child is done."""
        assert self.read_fd is not None
        while True:
            try:
                chunk = os.read(self.read_fd, READ_CHUNK_BYTES)
            except BlockingIOError:
                return False
            except OSError:
                return True
            if not chunk:
                return True
            self.received += chunk

    def result(self) -> FirstScreen | None:
        """The child's answer once read_available said done; None when it failed (the app then
        does the work itself)."""
        self.close()
        # Its objects (~100,000 for a 5,000-model catalog's rows) live until the next ranking:
        # read with the collector paused, then moved to its permanent generation, as the
        # catalog copy's are (young collections over them cost 20-40 ms there).
        collecting = gc.isenabled()
        gc.disable()
        try:
            answer = pickle.loads(self.received) if self.received else None
        except Exception:  # a child killed mid-write: the app works it out instead
            answer = None
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        return answer if isinstance(answer, FirstScreen) else None

    def close(self) -> None:
        """Stop the child (if it still runs), reap it and close the pipe; safe to call twice."""
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


def start(query: Query) -> HeadStart | None:
    """Fork the child that works out the first screen; None where picker does not fork."""
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
        payload = pickle.dumps(first_screen(query), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view):]
        status = 0
    except BaseException:  # any failure: the app works it out by itself
        status = 1
    finally:
        os._exit(status)
