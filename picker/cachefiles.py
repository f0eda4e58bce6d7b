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
    """Write `path` through a temporary file beside it and a rename; False if that failed.
    Readable by its owner only: these name the user's models, files and machine."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_whole(path, data, mode=0o600)
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
        try:
            stale.unlink(missing_ok=True)
        except OSError:  # not ours to remove (a folder, another user's file): leave it
            continue


def sealed(payload: bytes, **head: object) -> bytes:
    """A cache file's bytes: one JSON line with `head` and the payload's crc32 and length, then
    the payload (`unsealed` gives it back only when all of them still agree)."""
    import json

    return json.dumps({**head, "crc32": zlib.crc32(payload), "bytes": len(payload)}).encode() \
        + b"\n" + payload


def unsealed(data: bytes, **head: object) -> memoryview | None:
    """The payload of `sealed`'s bytes when their first line names exactly `head` and the
    payload's checksum and length (a view, not a copy: a 10 MB catalog copy's ~5 ms); None for
    a file truncated, edited, foreign or of another format."""
    import json

    line_end = data.find(b"\n")  # (not `partition`: it would copy the payload)
    first = data if line_end < 0 else data[:line_end]
    payload = memoryview(data)[len(data) if line_end < 0 else line_end + 1:]
    try:
        found = json.loads(first)
    except (ValueError, RecursionError):
        return None
    return payload if found == {**head, "crc32": zlib.crc32(payload), "bytes": len(payload)} \
        else None


MAX_CACHE_FILE_BYTES = 64 * 1024 * 1024


def read_bytes(path: Path, max_bytes: int = MAX_CACHE_FILE_BYTES) -> bytes | None:
    """The bytes of a regular file of at most `max_bytes`, or None: missing, unreadable, too big,
    or not a plain file (a FIFO planted there would block a plain read forever)."""
    import os
    import stat

    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > max_bytes:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return data if len(data) <= max_bytes else None


def read_json(path: Path, max_bytes: int = MAX_CACHE_FILE_BYTES) -> object:
    """The JSON value in `path`, or None when it is missing or damaged in any way.

    JSON only builds strings, numbers, lists and dicts: reading a planted file can never run
    code (unlike pickle), and every failure, a nesting too deep included, is a plain None.
    Callers still check the shape of what they get."""
    import json

    data = read_bytes(path, max_bytes)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and bad JSON
        return None


def set_aside(path: Path, side_suffixes: Iterable[str] = ()) -> Path | None:
    """Rename a damaged file (and its side files, e.g. a journal) to `NAME.damaged-TIME` beside
    it, kept for the user; the new name, or None if it could not be moved (it is then left as
    it is). A file already gone (another picker moved it a moment ago) gives its own path."""
    import os
    import time

    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    number = 1
    while os.path.lexists(aside):
        number += 1
        aside = aside.with_name(f"{aside.name.split('~')[0]}~{number}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return path
    except OSError:
        return None
    for suffix in side_suffixes:
        side = path.with_name(path.name + suffix)
        try:
            if os.path.lexists(side):
                os.replace(side, aside.with_name(aside.name + suffix))
        except OSError:
            continue
    return aside
