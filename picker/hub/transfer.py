"""Fetching one file into its `.part`, resuming with a Range request, then verify and rename.

The GET goes through huggingface_hub's shared HTTP client, headers and error mapping;
what picker adds is that the partial bytes outlive the process: every run appends to
the same `.part` from its current size, and only a verified file is renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from picker.errors import (
    InsufficientResourcesError,
    InterruptedByUserError,
    NetworkError,
    PickerError,
    RuntimeFailureError,
)
from picker.hub.failures import is_hub_error, is_retryable, translate
from picker.hub.hasher import Hasher, discard_state
from picker.hub.metadata import Location, RemoteFile, locate, same_origin, where
from picker.hub.progress import ProgressTracker
from picker.hub.settings import HubSettings
from picker.hub.storage import Layout, margin_bytes
from picker.safefiles import open_for_append
from picker.units import format_size

CHUNK_BYTES = 10 * 1024 * 1024  # huggingface_hub's DOWNLOAD_CHUNK_SIZE
FLUSH_SECONDS = 0.25  # on a slow link, bytes reach the .part at least this often
_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_chunk(part: BinaryIO, data: bytes) -> None:
    """Append all of `data` (a seam for tests that simulate a full disk)."""
    view = memoryview(data)
    while view:
        written = part.write(view)
        if written is None or written <= 0:
            raise OSError(errno.EIO, "short write")
        view = view[written:]


class _SizeMismatch(Exception):
    """The server sent more bytes than the file has: the part cannot be trusted."""


class _ShortBody(Exception):
    """The body ended early without an error; retried like a dropped connection."""


class _Stalled(_ShortBody):
    """Bytes still trickle in, but too few to ever finish: retried like a dropped connection."""


class _StallWatch:
    """Counts the bytes of the current window; a window that ends short is a stall."""

    def __init__(self, window_seconds: float, min_bytes: int) -> None:
        self.window_seconds = window_seconds
        self.min_bytes = min_bytes
        self.window_started = time.monotonic()
        self.window_bytes = 0

    def saw(self, count: int) -> None:
        """`count` bytes just arrived: first judge the window that ended before them, if one did."""
        now = time.monotonic()
        if now - self.window_started >= self.window_seconds:
            if self.window_bytes < self.min_bytes:
                raise _Stalled(
                    f"{self.window_bytes} bytes in {now - self.window_started:.0f} s, "
                    f"less than {format_size(self.min_bytes)}"
                )
            self.window_started, self.window_bytes = now, 0
        self.window_bytes += count


@dataclass
class FetchOutcome:
    resumed_from_bytes: int
    fetched_bytes: int
    sha256: str


class _Transfer:
    """The `.part` file, its hasher and how far both have got."""

    def __init__(self, remote: RemoteFile, layout: Layout) -> None:
        self.remote = remote
        self.layout = layout
        size = layout.part_path.stat().st_size if layout.part_path.exists() else 0
        if size > remote.size_bytes:  # not this file: start over
            layout.part_path.unlink()
            discard_state(layout.state_path)
            size = 0
        self.offset = size
        self.part: BinaryIO = open_for_append(layout.part_path)
        self.hasher = self._new_hasher()

    def _new_hasher(self) -> Hasher:
        return Hasher(
            self.layout.part_path,
            self.layout.state_path,
            self.remote.content_id,
            self.remote.sha256,
            self.remote.size_bytes,
            self.offset,
        )

    def restart_from_zero(self) -> None:
        """The server ignored our Range: throw the prefix away and take the full body."""
        self.hasher.stop()
        discard_state(self.layout.state_path)
        self.part.truncate(0)
        self.offset = 0
        self.hasher = self._new_hasher()

    def append(self, chunk: bytes) -> None:
        if self.offset + len(chunk) > self.remote.size_bytes:
            raise _SizeMismatch()
        write_chunk(self.part, chunk)
        self.offset += len(chunk)
        self.hasher.feed(chunk)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.part.close()


def _stream(transfer: _Transfer, location: Location, settings: HubSettings, tracker: ProgressTracker) -> None:
    """One GET from the current offset to the end (or until the connection fails)."""
    import httpx2
    from huggingface_hub import get_session, hf_raise_for_status

    start = transfer.offset
    headers = {**location.headers, "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    policy = settings.policy
    timeout = httpx2.Timeout(policy.read_timeout_seconds, connect=policy.connect_timeout_seconds)
    with get_session().stream(
        "GET", location.url, headers=headers, timeout=timeout, follow_redirects=True
    ) as response:
        hf_raise_for_status(response)
        if start > 0:
            content_range = response.headers.get("Content-Range", "")
            if response.status_code != 206 or not content_range.startswith(f"bytes {start}-"):
                transfer.restart_from_zero()
                tracker.start(0)
        pieces: list[bytes] = []
        pending = 0
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal pieces, pending, last_flush
            block = b"".join(pieces)
            pieces, pending, last_flush = [], 0, time.monotonic()  # before anything can raise
            if block:
                transfer.append(block)
                tracker.advance(transfer.offset)

        watch = _StallWatch(policy.stall_seconds, policy.stall_min_bytes)
        try:
            for piece in response.iter_bytes():
                watch.saw(len(piece))
                pieces.append(piece)
                pending += len(piece)
                if pending >= CHUNK_BYTES or time.monotonic() - last_flush >= FLUSH_SECONDS:
                    flush()
        except BaseException:  # bytes that arrived before a failure are good: keep them
            with contextlib.suppress(_SizeMismatch, OSError):
                flush()
            raise
        flush()
    if transfer.offset < transfer.remote.size_bytes:
        raise _ShortBody(f"body ended at {transfer.offset} of {transfer.remote.size_bytes} bytes")


def _kept(transfer: _Transfer) -> str:
    return (
        f"; {format_size(transfer.offset)} of {format_size(transfer.remote.size_bytes)} kept in "
        f"{transfer.layout.part_path}, run the same command again to resume"
    )


def _with_kept(error: PickerError, transfer: _Transfer) -> PickerError:
    result = type(error)(error.message + _kept(transfer))
    return result


def _disk_error(error: OSError, transfer: _Transfer) -> PickerError:
    folder = transfer.layout.part_path.parent
    remaining = transfer.remote.size_bytes - transfer.offset
    if error.errno == errno.EFBIG:
        return InsufficientResourcesError(
            f"the filesystem of {folder} cannot hold a file of {format_size(transfer.remote.size_bytes)}"
            " (FAT32?); pass --dir on another disk" + _kept(transfer)
        )
    return InsufficientResourcesError(
        f"disk full in {folder}: free at least {format_size(remaining + margin_bytes(remaining))} "
        f"({format_size(remaining)} still to fetch + margin)" + _kept(transfer)
    )


def fetch(
    remote: RemoteFile,
    layout: Layout,
    settings: HubSettings,
    tracker: ProgressTracker,
    first_location: Location | None,
) -> FetchOutcome:
    """Bring the `.part` to the full size, verify it, and rename it to `layout.final_path`."""
    transfer = _Transfer(remote, layout)
    resumed_from = transfer.offset
    tracker.start(resumed_from)
    tracker.event("resolved")
    location = first_location
    failures = 0
    relocated = False
    place = where(settings, remote.repo_id, remote.revision, remote.filename)
    try:
        while transfer.offset < remote.size_bytes:
            before = transfer.offset
            try:
                if location is None:
                    location = locate(
                        settings, remote.repo_id, remote.commit_hash, remote.filename, retries=False
                    )
                _stream(transfer, location, settings, tracker)
            except (PickerError, _SizeMismatch):
                raise
            except Exception as error:
                if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
                    raise _disk_error(error, transfer) from None
                if not relocated and _expired_link(error, location, settings):
                    relocated, location = True, None  # signed CDN links expire: ask the Hub again
                    continue
                if is_retryable(error) or isinstance(error, _ShortBody):
                    failures = _note_failure(error, transfer, before, failures, settings, tracker)
                    location = None
                    continue
                if is_hub_error(error):
                    raise _with_kept(translate(error, place), transfer) from None
                if isinstance(error, OSError):
                    raise RuntimeFailureError(
                        f"cannot write {layout.part_path}: {error}" + _kept(transfer)
                    ) from None
                raise  # a bug, e.g. in a progress callback: not a Hub failure
        tracker.event("verifying", "checking sha256")
        digest = transfer.hasher.finish()
    except _SizeMismatch:
        transfer.hasher.stop()
        transfer.close()
        _discard(layout)
        raise RuntimeFailureError(
            f"the server sent more bytes than the {format_size(remote.size_bytes)} of {remote.filename}; "
            "the partial file was discarded, run the command again"
        ) from None
    except KeyboardInterrupt:
        transfer.hasher.stop()
        transfer.close()
        message = f"interrupted while downloading {remote.filename}" + _kept(transfer)
        raise InterruptedByUserError(message) from None
    except BaseException:
        transfer.hasher.stop()
        transfer.close()
        raise
    transfer.close()
    expected = remote.sha256 or remote.git_oid
    if digest != expected:
        _discard(layout)
        kind = "sha256" if remote.sha256 else "git blob id"
        raise RuntimeFailureError(
            f"{remote.filename} is corrupt: its {kind} is {digest[:16]}… but the Hub says "
            f"{expected[:16]}…; the file was discarded, run the command again to download it afresh"
        )
    _flush_to_disk(layout.part_path)  # a power cut must never leave a short file at the final path
    os.replace(layout.part_path, layout.final_path)
    discard_state(layout.state_path)
    return FetchOutcome(resumed_from, remote.size_bytes - resumed_from, digest)


def _note_failure(
    error: BaseException,
    transfer: _Transfer,
    before: int,
    failures: int,
    settings: HubSettings,
    tracker: ProgressTracker,
) -> int:
    """Count a transient failure (progress resets the count), wait, or give up with a clear error."""
    # Progress forgives earlier failures, except a stall: its trickle of bytes is no progress.
    failures = 1 if transfer.offset > before and not isinstance(error, _Stalled) else failures + 1
    policy = settings.policy
    if failures >= policy.max_attempts:
        place = where(settings, transfer.remote.repo_id, transfer.remote.revision, transfer.remote.filename)
        final = (
            NetworkError(
                f"{_describe(error)} {failures} times in a row downloading {transfer.remote.filename} "
                f"from {settings.endpoint}; check your network connection or try again later"
            )
            if isinstance(error, _ShortBody)
            else translate(error, place, failures)
        )
        raise _with_kept(final, transfer) from None
    wait = policy.wait_seconds(failures, error)
    tracker.event(
        "retry",
        f"{_describe(error)} at {format_size(transfer.offset)}; resuming in {wait:.1f} s "
        f"(attempt {failures + 1}/{policy.max_attempts})",
    )
    policy.sleep(wait)
    return failures


def _expired_link(error: BaseException, location: Location | None, settings: HubSettings) -> bool:
    """A 403/404/410 from the CDN (not the Hub): the signed link it was given may have expired."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return (
        location is not None
        and status in (403, 404, 410)
        and not same_origin(location.url, settings.endpoint)
    )


def _describe(error: BaseException) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(status, int):
        return f"HTTP {status}"
    if isinstance(error, _Stalled):
        return f"the download stalled ({error})"
    if isinstance(error, _ShortBody):
        return "connection closed early"
    return f"connection lost ({type(error).__name__})"


def _discard(layout: Layout) -> None:
    for path in (layout.part_path, layout.state_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _flush_to_disk(path: Path) -> None:
    """fsync the verified file before it is renamed into place (one call per file)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
