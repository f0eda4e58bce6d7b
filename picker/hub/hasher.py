"""Hashing beside the download, in its own thread, with a saved state the next process can resume.

The downloader writes each chunk to the `.part` file and then hands it here, so the
hash never gets ahead of the bytes on disk; a resumed run first hashes the part of
the prefix that no saved state covers, read back from disk, while new bytes arrive.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from pathlib import Path

from picker.hub.hashing import (
    RunningHash,
    new_git_blob_sha1,
    new_sha256,
    saved_state_bytes,
    state_saving_available,
)
from picker.safefiles import replace_whole

READ_BLOCK_BYTES = 8 * 1024 * 1024
CHECKPOINT_EVERY_BYTES = 64 * 1024 * 1024
QUEUE_CHUNKS = 8  # at most this many chunks wait for the hash (back-pressure on the download)


def _load_state(state_path: Path, content_id: str, available_bytes: int) -> tuple[bytes, int] | None:
    """The saved hash state and how far it got, or None (then the prefix is hashed from disk)."""
    from picker.cachefiles import read_json

    saved = read_json(state_path)
    if not isinstance(saved, dict) or type(saved.get("offset")) is not int:
        return None
    try:
        offset, state = saved["offset"], bytes.fromhex(saved["state"])
    except (ValueError, KeyError, TypeError):
        return None
    if saved.get("content_id") != content_id or not 0 < offset <= available_bytes:
        return None
    if saved_state_bytes(state) != offset:  # damaged or planted: hash the prefix from disk
        return None
    return state, offset


def discard_state(state_path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        state_path.unlink()


class Hasher:
    """Hashes `part_path` up to `prefix_bytes` from disk, then every chunk `feed` gives it."""

    def __init__(
        self,
        part_path: Path,
        state_path: Path,
        content_id: str,
        sha256: str | None,
        size_bytes: int,
        prefix_bytes: int,
    ) -> None:
        self._part_path = part_path
        self._state_path = state_path
        self._content_id = content_id
        self._saveable = sha256 is not None and state_saving_available()
        self._running: RunningHash
        self.hashed_bytes = 0
        loaded = _load_state(state_path, content_id, prefix_bytes) if self._saveable else None
        if sha256 is None:
            self._running = new_git_blob_sha1(size_bytes)
        elif loaded is not None:
            self._running = new_sha256(loaded[0])
            self.hashed_bytes = loaded[1]
        else:
            self._running = new_sha256()
        self.restored_bytes = self.hashed_bytes
        self._prefix_bytes = prefix_bytes
        self._last_checkpoint = self.hashed_bytes
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="picker-hash", daemon=True)
        self._thread.start()

    def _update(self, data: bytes) -> None:
        self._running.update(data)
        self.hashed_bytes += len(data)
        if self.hashed_bytes - self._last_checkpoint >= CHECKPOINT_EVERY_BYTES:
            self.save()

    def _run(self) -> None:
        try:
            if self.hashed_bytes < self._prefix_bytes:
                with open(self._part_path, "rb") as part:
                    part.seek(self.hashed_bytes)
                    while self.hashed_bytes < self._prefix_bytes and not self._abort.is_set():
                        want = min(READ_BLOCK_BYTES, self._prefix_bytes - self.hashed_bytes)
                        block = part.read(want)
                        if not block:
                            raise OSError(f"{self._part_path} is shorter than expected")
                        self._update(block)
            while True:
                chunk = self._queue.get()
                if chunk is None:
                    return
                if self.hashed_bytes >= self._prefix_bytes:  # else the prefix read was aborted
                    self._update(chunk)
        except BaseException as error:  # handed to the caller in finish()/feed()
            self._error = error
            while self._queue.get() is not None:  # drain so a blocked feed() returns
                pass

    def feed(self, chunk: bytes) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> str:
        """Wait for every fed chunk; the hex digest of all bytes."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._running.hexdigest()

    def stop(self) -> None:
        """Stop and save the state for the next run (chunks already fed are hashed first: cheap)."""
        self._abort.set()
        with contextlib.suppress(Exception):
            self._queue.put(None, timeout=5)
        self._thread.join(timeout=30)
        if not self._thread.is_alive() and self._error is None:
            self.save()

    def save(self) -> None:
        if not self._saveable or self.hashed_bytes == 0:
            return
        state = self._running.state()
        if state is None:
            return
        document = {"content_id": self._content_id, "offset": self.hashed_bytes, "state": state.hex()}
        with contextlib.suppress(OSError):  # a lost state only means re-hashing on resume
            replace_whole(self._state_path, json.dumps(document).encode())
            self._last_checkpoint = self.hashed_bytes
