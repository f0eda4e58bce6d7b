"""Where files go: the Hugging Face cache layout (so other tools find them) or a plain folder.

Cache mode mirrors huggingface_hub: `models--OWNER--REPO/blobs/<sha256>` holds the bytes,
`snapshots/<commit>/<file>` links to it, `refs/<branch>` names the commit, and the lock
is the very file huggingface_hub locks (`.locks/models--OWNER--REPO/<sha256>.lock`),
so picker and `hf_hub_download` never write the same blob at once. The partial download
sits beside the blob as `<sha256>.part`, its saved hash state as `<sha256>.part.state`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from picker.cachefiles import read_json, write_whole
from picker.errors import InsufficientResourcesError
from picker.hub.metadata import RemoteFile
from picker.paths import picker_paths
from picker.safefiles import replace_whole
from picker.safenames import inside
from picker.units import format_size

MIN_MARGIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Layout:
    final_path: Path  # the verified file (in the cache: the blob)
    visible_path: Path  # what the user is given (in the cache: the snapshot link)
    part_path: Path
    state_path: Path
    lock_path: Path
    root: Path  # every path above stays under it (the cache, or the --dir folder)
    snapshot_target: str | None = None  # cache mode: relative link from visible_path to the blob

    def paths(self) -> tuple[Path, ...]:
        return (self.final_path, self.visible_path, self.part_path, self.state_path, self.lock_path)


def repo_folder(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def cache_layout(cache_dir: Path, remote: RemoteFile) -> Layout:
    storage = cache_dir / repo_folder(remote.repo_id)
    blob = storage / "blobs" / remote.content_id
    snapshot = storage / "snapshots" / remote.commit_hash / remote.filename
    return Layout(
        final_path=blob,
        visible_path=snapshot,
        part_path=blob.with_name(blob.name + ".part"),
        state_path=blob.with_name(blob.name + ".part.state"),
        lock_path=cache_dir / ".locks" / repo_folder(remote.repo_id) / f"{remote.content_id}.lock",
        root=cache_dir,
        snapshot_target=os.path.relpath(blob, snapshot.parent),
    )


def dir_layout(directory: Path, remote: RemoteFile) -> Layout:
    final = directory / remote.filename
    work = directory / ".cache" / "picker"
    return Layout(
        final_path=final,
        visible_path=final,
        part_path=work / f"{remote.content_id}.part",
        state_path=work / f"{remote.content_id}.part.state",
        lock_path=work / f"{remote.content_id}.lock",
        root=directory,
    )


def prepare_folders(layout: Layout) -> None:
    """Make the folders, refusing any path that a link would carry outside the layout's root."""
    for path in layout.paths():
        inside(layout.root, path.parent)
    for folder in {layout.final_path.parent, layout.part_path.parent, layout.lock_path.parent}:
        folder.mkdir(parents=True, exist_ok=True)
        inside(layout.root, folder)


def publish(layout: Layout, remote: RemoteFile, cache_dir: Path | None) -> None:
    """Cache mode: point the snapshot at the blob and the ref at the commit, as huggingface_hub does."""
    if layout.snapshot_target is None or cache_dir is None:
        return
    snapshot = layout.visible_path
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    if not (snapshot.is_symlink() and os.readlink(snapshot) == layout.snapshot_target):
        temporary = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.link")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        try:
            temporary.symlink_to(layout.snapshot_target)
        except OSError:  # no symlinks (Windows without developer mode): a hard link, else a copy
            try:
                os.link(layout.final_path, temporary)
            except OSError:
                shutil.copy2(layout.final_path, temporary)
        os.replace(temporary, snapshot)
    if remote.revision != remote.commit_hash:
        ref = inside(cache_dir, cache_dir / repo_folder(remote.repo_id) / "refs" / remote.revision)
        ref.parent.mkdir(parents=True, exist_ok=True)
        if not ref.is_file() or ref.read_text().strip() != remote.commit_hash:
            replace_whole(ref, remote.commit_hash.encode())


def _record_path(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return picker_paths().cache_dir / "hub-verified" / f"{key}.json"


def record_verified(path: Path, content_id: str) -> None:
    """Remember that `path`, as it is now (size, mtime), hashed to `content_id`."""
    status = path.stat()
    document = {
        "path": str(path.resolve()),
        "content_id": content_id,
        "size_bytes": status.st_size,
        "mtime_ns": status.st_mtime_ns,
    }
    # Without the record the file is only hashed again next time.
    write_whole(_record_path(path), json.dumps(document).encode())


def recorded_content_id(path: Path) -> str | None:
    """The content id picker verified for this very file, if it has not changed since."""
    record = read_json(_record_path(path))  # any damage (a list, deep nesting, a FIFO) reads as None
    if not isinstance(record, dict):
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    if record.get("size_bytes") != status.st_size or record.get("mtime_ns") != status.st_mtime_ns:
        return None
    content_id = record.get("content_id")
    return content_id if isinstance(content_id, str) else None


def recorded_as_verified(path: Path, content_id: str) -> bool:
    """True if picker verified this very file before and it has not changed since."""
    return recorded_content_id(path) == content_id


def margin_bytes(total_bytes: int) -> int:
    return max(MIN_MARGIN_BYTES, total_bytes // 100)


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_free_space(folder: Path, remaining_bytes: int, total_bytes: int) -> None:
    """Refuse to start a download that cannot fit, naming both figures."""
    if remaining_bytes <= 0:
        return
    needed = remaining_bytes + margin_bytes(total_bytes)
    free = free_bytes(folder)
    if free < needed:
        raise InsufficientResourcesError(
            f"not enough disk space in {folder}: the download needs {format_size(needed)} "
            f"({format_size(remaining_bytes)} still to fetch + {format_size(needed - remaining_bytes)} "
            f"margin) but {format_size(free)} is free; free up space or pass --dir on another disk"
        )
