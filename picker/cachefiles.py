"""Files picker keeps to save work (cache copies, digests): whole or not at all, a few versions.

Each is derived data: losing one only means working it out again, so a write that
fails gives up quietly, and never leaves a half-written file where a good one belongs.
"""

import zlib
from collections.abc import Iterable
from pathlib import Path

from picker.safefiles import replace_whole


def identity(path: Path) -> str:
    """What changes when the file does: its path, size and modification time (OSError if gone)."""
    status = path.stat()
    return f"{path.absolute()}\0{status.st_size}\0{status.st_mtime_ns}"


def checksum(parts: Iterable[str]) -> str:
    """A short name for these parts: two cheap checksums (zlib is built in; hashlib costs
    ~12 M instructions to load)."""
    data = "\n".join(parts).encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def write_whole(path: Path, data: bytes) -> bool:
    """Write `path` through a temporary file beside it and a rename; False if that failed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_whole(path, data)
    except OSError:
        return False
    return True


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def drop_older_copies(path: Path, pattern: str, keep: int) -> None:
    """Delete the files matching `pattern` beside `path` but its newest `keep - 1` (and `path`):
    two installs of picker sharing a cache dir then do not evict each other's copy each run."""
    others = sorted((other for other in path.parent.glob(pattern) if other != path),
                    key=_modified_ns, reverse=True)
    for stale in others[keep - 1:]:
        stale.unlink(missing_ok=True)
