"""Creating and appending files without following a link someone left where picker writes.

A symlink planted at a `.part`, a temporary name or a state file would otherwise carry
picker's bytes to wherever it points. Every file picker creates goes through here:
new files are created exclusively (never an existing one, never through a link), and
files picker appends to are opened with O_NOFOLLOW. A link in the way is an error that
names it, never a target.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import BinaryIO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none; it has no such links by default either
_BINARY = getattr(os, "O_BINARY", 0)


class LinkInTheWayError(OSError):
    """A symbolic link sits where picker wanted to write a file of its own."""


def _link_error(path: Path) -> LinkInTheWayError:
    return LinkInTheWayError(
        errno.ELOOP, f"a symbolic link sits at {str(path)!r} where picker writes; remove it", str(path)
    )


def _open(path: Path, flags: int, mode: int) -> int:
    try:
        return os.open(path, flags | _NOFOLLOW | _BINARY, mode)
    except OSError as error:
        if error.errno == errno.ELOOP or (error.errno == errno.EEXIST and path.is_symlink()):
            raise _link_error(path) from None
        raise


def open_for_append(path: Path, mode: int = 0o644) -> BinaryIO:
    """`path` opened to append (created if missing), unbuffered; never through a link."""
    descriptor = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    return os.fdopen(descriptor, "ab", buffering=0)


def replace_whole(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `path` through a new temporary file beside it and a rename (raises OSError).

    The temporary name is unguessable and created exclusively, so nothing planted can
    catch the bytes; the rename replaces a link at `path` itself, not what it points to.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        descriptor = _open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
