"""Without the Hub: the copies picker verified earlier still count as downloaded.

Used when the Hub cannot be reached (or HF_HUB_OFFLINE is set): a file picker already
checked against the Hub's sha256, unchanged since, is returned with a warning instead
of an error. Nothing unverified is ever returned this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from picker.cachefiles import read_bytes
from picker.hub.storage import recorded_content_id, repo_folder
from picker.hub.target import HubFiles
from picker.safenames import is_commit_id


@dataclass(frozen=True)
class LocalCopy:
    filename: str
    path: Path  # what the user is given (in the cache: the snapshot link)
    content_id: str
    size_bytes: int
    commit_hash: str | None


def _cached(cache_dir: Path, repo_id: str, revision: str, filename: str) -> tuple[Path, str] | None:
    storage = cache_dir / repo_folder(repo_id)
    commit = revision
    if not (storage / "snapshots" / revision).is_dir():
        # The ref file is on disk, written by picker or another tool: a FIFO there must not
        # hang the read, and what it holds must be a commit id before it becomes a path.
        ref = read_bytes(storage / "refs" / revision, max_bytes=256)
        commit = ref.decode("ascii", "replace").strip() if ref is not None else ""
        if not is_commit_id(commit):
            return None
    snapshot = storage / "snapshots" / commit / filename
    return (snapshot, commit) if snapshot.is_file() else None


def verified_copies(files: HubFiles, directory: Path | None, cache_dir: Path) -> list[LocalCopy] | None:
    """A verified local copy of every file, or None if any one is missing or unverified."""
    copies = []
    for filename in files.filenames:
        commit: str | None = None
        if directory is not None:
            path = directory / filename
        else:
            found = _cached(cache_dir, files.repo_id, files.revision, filename)
            if found is None:
                return None
            path, commit = found
        content_id = recorded_content_id(path.resolve())
        if content_id is None:
            return None
        copies.append(LocalCopy(filename, path, content_id, path.stat().st_size, commit))
    return copies
