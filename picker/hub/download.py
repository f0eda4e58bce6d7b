"""Download files from the Hub: resolve, check disk, lock, resume, verify, place.

`download_files` is the hook for the catalog (it knows repo, file names and sizes);
`download_target` serves `hf://` targets. Progress reaches an optional callback.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from picker.errors import (
    InsufficientResourcesError,
    InterruptedByUserError,
    NetworkError,
    PickerError,
    RuntimeFailureError,
    UsageError,
)
from picker.hub.hashing import RunningHash, new_git_blob_sha1, new_sha256
from picker.hub.metadata import Location, RemoteFile, resolve_files
from picker.hub.offline import verified_copies
from picker.hub.progress import ProgressCallback, ProgressTracker
from picker.hub.settings import HubSettings, RetryPolicy, resolve_settings
from picker.hub.storage import (
    Layout,
    cache_layout,
    check_free_space,
    dir_layout,
    prepare_folders,
    publish,
    record_verified,
    recorded_as_verified,
)
from picker.hub.target import HubFiles, parse_target, split_parts
from picker.hub.transfer import fetch
from picker.safefiles import LinkInTheWayError
from picker.units import format_size

LOCK_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class FileResult:
    filename: str
    path: Path
    size_bytes: int
    sha256: str | None
    seconds: float
    resumed_from_bytes: int
    fetched_bytes: int
    already_present: bool

    def to_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "seconds": round(self.seconds, 3),
            "resumed_from_bytes": self.resumed_from_bytes,
            "fetched_bytes": self.fetched_bytes,
            "already_present": self.already_present,
        }


@dataclass(frozen=True)
class DownloadResult:
    repo_id: str
    revision: str
    commit_hash: str
    files: list[FileResult]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """The file to load (for a split model, its first part: llama.cpp finds the rest)."""
        return self.files[0].path

    def to_json(self) -> dict[str, object]:
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "commit_hash": self.commit_hash,
            "path": str(self.path),
            "size_bytes": sum(item.size_bytes for item in self.files),
            "sha256": self.files[0].sha256,
            "seconds": round(self.seconds, 3),
            "resumed_from_bytes": sum(item.resumed_from_bytes for item in self.files),
            "fetched_bytes": sum(item.fetched_bytes for item in self.files),
            "files": [item.to_json() for item in self.files],
        }


def download_target(
    target: str,
    directory: Path | None = None,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> DownloadResult:
    """`hf://OWNER/REPO/FILE.gguf[@REVISION]` into the HF cache (or `directory`)."""
    return download_files(parse_target(target), directory, progress, **options)


def download_files(
    files: HubFiles,
    directory: Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    endpoint: str | None = None,
    cache_dir: Path | None = None,
    token: str | None = None,
    policy: RetryPolicy | None = None,
    cancel: threading.Event | None = None,
) -> DownloadResult:
    """Download `files` (all parts of a split model), resuming, verifying and placing each.

    `progress` is called from the downloading thread; setting `cancel` (or raising
    KeyboardInterrupt in `progress`) stops it with InterruptedByUserError, partial kept.
    """
    started = time.monotonic()
    files = _with_all_parts(files)
    settings = resolve_settings(endpoint, cache_dir, token, policy)
    first_tracker = ProgressTracker(progress, files.filenames[0], 1, len(files.filenames), 0)
    try:
        remote_files, first_location = resolve_files(
            files, settings, lambda message: first_tracker.event("retry", message)
        )
    except ValueError as error:  # huggingface_hub's validation of repo ids and names
        raise UsageError(f"invalid repo or file name: {error}") from None
    except NetworkError as error:
        fallback = _offline_result(files, directory, settings, error, started)
        if fallback is None:
            raise
        return fallback
    except KeyboardInterrupt:
        raise InterruptedByUserError("interrupted while asking the Hub about the files") from None
    warnings = _size_warnings(files, remote_files)
    layouts = [_layout(remote, directory, settings) for remote in remote_files]
    results: list[FileResult] = []
    try:
        for layout in layouts:
            prepare_folders(layout)
        _check_disk(remote_files, layouts)
        for index, (remote, layout) in enumerate(zip(remote_files, layouts, strict=True), start=1):
            tracker = ProgressTracker(
                progress, remote.filename, index, len(remote_files), remote.size_bytes, cancel=cancel
            )
            location = first_location if index == 1 else None
            results.append(_download_one(remote, layout, settings, tracker, location, directory))
    except OSError as error:  # the Hub's errors were translated already: this is the local disk
        raise _local_failure(error, layouts[0]) from None
    except KeyboardInterrupt:  # outside a transfer (checking a file, waiting): nothing is lost
        raise InterruptedByUserError(
            "interrupted before the download finished; run the same command again to continue"
        ) from None
    return DownloadResult(
        repo_id=files.repo_id,
        revision=files.revision,
        commit_hash=remote_files[0].commit_hash,
        files=results,
        seconds=time.monotonic() - started,
        warnings=warnings,
    )


def _offline_result(
    files: HubFiles, directory: Path | None, settings: HubSettings, error: NetworkError, started: float
) -> DownloadResult | None:
    """The Hub is out of reach, but picker verified every file before: hand those over."""
    copies = verified_copies(files, directory, settings.cache_dir)
    if copies is None:
        return None
    results = [
        FileResult(
            copy.filename, copy.path, copy.size_bytes,
            copy.content_id if len(copy.content_id) == 64 else None,
            0.0, 0, 0, already_present=True,
        )
        for copy in copies
    ]
    return DownloadResult(
        repo_id=files.repo_id,
        revision=files.revision,
        commit_hash=copies[0].commit_hash or "",
        files=results,
        seconds=time.monotonic() - started,
        warnings=[f"{error.message}; using the copies verified earlier, which may not be the latest"],
    )


def _local_failure(error: OSError, layout: Layout) -> PickerError:
    if isinstance(error, LinkInTheWayError):
        return RuntimeFailureError(f"{error.strerror}; nothing was written through it")
    where = error.filename or layout.part_path.parent
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientResourcesError(
            f"disk full at {where}; free some space or pass --dir on another disk"
        )
    reason = error.strerror or type(error).__name__
    return RuntimeFailureError(
        f"cannot write {where}: {reason}; check its permissions, or pass --dir with a writable folder"
    )


def _with_all_parts(files: HubFiles) -> HubFiles:
    """A split model is useless without every part: add any the caller left out."""
    names = tuple(dict.fromkeys(part for name in files.filenames for part in split_parts(name)))
    if names == tuple(files.filenames):
        return files
    return replace(files, filenames=names)


def _layout(remote: RemoteFile, directory: Path | None, settings: HubSettings) -> Layout:
    if directory is not None:
        return dir_layout(directory, remote)
    return cache_layout(settings.cache_dir, remote)


def _size_warnings(files: HubFiles, remote_files: list[RemoteFile]) -> list[str]:
    warnings = []
    for remote in remote_files:
        expected = files.expected_sizes.get(remote.filename)
        if expected is not None and expected != remote.size_bytes:
            warnings.append(
                f"{remote.filename}: the catalog expects {format_size(expected)} but the Hub has "
                f"{format_size(remote.size_bytes)}; downloading the Hub's file"
            )
    return warnings


def _present(layout: Layout, remote: RemoteFile) -> bool:
    path = layout.final_path
    return path.is_file() and path.stat().st_size == remote.size_bytes and recorded_as_verified(
        path, remote.content_id
    )


def _check_disk(remote_files: list[RemoteFile], layouts: list[Layout]) -> None:
    total = sum(remote.size_bytes for remote in remote_files)
    remaining = 0
    for remote, layout in zip(remote_files, layouts, strict=True):
        final = layout.final_path
        if final.is_file() and final.stat().st_size == remote.size_bytes:
            continue  # most likely complete (another tool's download); checked under the lock
        part = layout.part_path.stat().st_size if layout.part_path.exists() else 0
        remaining += max(remote.size_bytes - min(part, remote.size_bytes), 0)
    check_free_space(layouts[0].part_path.parent, remaining, total)


def _hash_file(path: Path, remote: RemoteFile, tracker: ProgressTracker) -> str:
    running: RunningHash = new_sha256() if remote.sha256 else new_git_blob_sha1(remote.size_bytes)
    tracker.start(0)
    done = 0
    with open(path, "rb") as handle:
        while block := handle.read(8 * 1024 * 1024):
            running.update(block)
            done += len(block)
            tracker.advance(done, kind="verifying")
    return running.hexdigest()


def _verify_existing(layout: Layout, remote: RemoteFile, tracker: ProgressTracker) -> bool:
    """A file already at the final path: trusted if picker verified it, else hashed once now."""
    path = layout.final_path
    if not path.is_file():
        return False
    if _present(layout, remote):
        return True
    if path.stat().st_size == remote.size_bytes:
        tracker.event("verifying", f"checking the sha256 of the existing {path.name}")
        if _hash_file(path, remote, tracker) == remote.content_id:
            record_verified(path, remote.content_id)
            return True
    tracker.event("verifying", f"the existing {path} does not match the Hub's file; replacing it")
    path.unlink()
    return False


@contextlib.contextmanager
def _file_lock(layout: Layout, tracker: ProgressTracker) -> Iterator[None]:
    """Only one picker (or huggingface_hub) process writes a given file at a time."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(layout.lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        tracker.event(
            "waiting_for_lock",
            f"another process is downloading this file (lock {layout.lock_path}); waiting for it",
        )
        try:
            while True:
                tracker.check_cancel()
                try:
                    lock.acquire(timeout=LOCK_POLL_SECONDS, poll_interval=LOCK_POLL_SECONDS / 4)
                    break
                except Timeout:
                    continue
        except KeyboardInterrupt:
            raise InterruptedByUserError("interrupted while waiting for another download") from None
    try:
        yield
    finally:
        lock.release()


def _download_one(
    remote: RemoteFile,
    layout: Layout,
    settings: HubSettings,
    tracker: ProgressTracker,
    location: Location | None,
    directory: Path | None,
) -> FileResult:
    started = time.monotonic()
    cache_dir = None if directory is not None else settings.cache_dir
    with _file_lock(layout, tracker):
        if _verify_existing(layout, remote, tracker):
            publish(layout, remote, cache_dir)
            tracker.start(remote.size_bytes)
            tracker.event("already_present")
            return FileResult(
                remote.filename, layout.visible_path, remote.size_bytes, remote.sha256,
                time.monotonic() - started, 0, 0, already_present=True,
            )
        outcome = fetch(remote, layout, settings, tracker, location)
        record_verified(layout.final_path, remote.content_id)
        try:
            publish(layout, remote, cache_dir)
        except OSError as error:
            raise RuntimeFailureError(
                f"downloaded and verified {layout.final_path} but could not link it into the cache: "
                f"{error}; check permissions of {layout.visible_path.parent}"
            ) from None
    tracker.event("done")
    return FileResult(
        remote.filename, layout.visible_path, remote.size_bytes, remote.sha256,
        time.monotonic() - started, outcome.resumed_from_bytes, outcome.fetched_bytes,
        already_present=False,
    )

