"""Checks for every value a Hub, a mirror or a catalog hands picker that becomes part of a path.

A Hub answer names the blob (the LFS sha256), the snapshot folder (the commit id) and the
files (repository paths); a catalog names the repository and the files; a user names the
revision. Each is checked here, once, where it enters picker: hashes are exact lowercase
hex of the right length, names are short relative paths with nothing that climbs out of
their folder or confuses a terminal. `inside` is the second line of defence for the paths
built from them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from picker.errors import PickerError, RuntimeFailureError, UsageError

SHA256_HEX_CHARS = 64
GIT_SHA1_HEX_CHARS = 40
MAX_PATH_CHARS = 1024  # the Hub's own limit on a file path is about this
MAX_PIECE_CHARS = 255  # one folder or file name (most filesystems' limit, in bytes for ASCII)
MAX_REVISION_CHARS = 255

_HEX_RE = re.compile(r"[0-9a-f]+")
# The Hub's rule for owner and repository names (letters, digits, '-', '_', '.'), 96 at most.
_REPO_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


class UntrustedValueError(RuntimeFailureError):
    """A Hub or mirror sent a value that picker will not use as a path."""

    code = "untrusted_value"


def _problem(value: str) -> str | None:
    """Why `value` cannot be a relative path piece sequence, or None when it can."""
    if not value:
        return "it is empty"
    if len(value) > MAX_PATH_CHARS:
        return f"it is longer than {MAX_PATH_CHARS} characters"
    for char in value:
        if char in "\\\0" or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"it holds the character {char!r}"
    if value.startswith("/") or re.match(r"[A-Za-z]:", value):
        return "it is an absolute path"
    for piece in value.split("/"):
        if piece in ("", ".", ".."):
            return "it has an empty, '.' or '..' part"
        if len(piece) > MAX_PIECE_CHARS:
            return f"a part of it is longer than {MAX_PIECE_CHARS} characters"
    return None


def _refuse(kind: str, value: object, reason: str, repo_id: str | None, from_user: bool) -> PickerError:
    where = f" of {repo_id!r}" if repo_id else ""
    if from_user:
        return UsageError(f"the {kind}{where} {value!r} cannot be used: {reason}")
    return UntrustedValueError(
        f"refusing the {kind}{where} that the Hub sent, {value!r}: {reason}; nothing was written "
        "(if HF_ENDPOINT points at a mirror, check that it is one you trust)"
    )


def check_repo_path(value: object, repo_id: str | None = None, *, from_user: bool = False) -> str:
    """A file path inside a repository: relative, normalized, printable, of a sane length."""
    if not isinstance(value, str):
        raise _refuse("file name", value, "it is not text", repo_id, from_user)
    reason = _problem(value)
    if reason is not None:
        raise _refuse("file name", value, reason, repo_id, from_user)
    return value


def check_revision(value: object, repo_id: str | None = None, *, from_user: bool = True) -> str:
    """A branch, tag or commit (`refs/pr/1` has slashes): the same rules as a path, shorter."""
    if not isinstance(value, str):
        raise _refuse("revision", value, "it is not text", repo_id, from_user)
    reason = _problem(value)
    if reason is None and len(value) > MAX_REVISION_CHARS:
        reason = f"it is longer than {MAX_REVISION_CHARS} characters"
    if reason is not None:
        raise _refuse("revision", value, reason, repo_id, from_user)
    return value


def check_repo_id(value: object, *, from_user: bool = True) -> str:
    """`OWNER/NAME` as the Hub allows them (no '..', no other separators)."""
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 2 or not all(_REPO_PART_RE.fullmatch(part) and ".." not in part for part in parts):
        raise _refuse("repository id", value, "it is not OWNER/NAME of letters, digits, '-', '_' and '.'",
                      None, from_user)
    return str(value)


def _check_hex(kind: str, value: object, lengths: tuple[int, ...], repo_id: str | None) -> str:
    if not isinstance(value, str) or len(value) not in lengths or not _HEX_RE.fullmatch(value):
        wanted = " or ".join(str(n) for n in lengths)
        raise _refuse(kind, value, f"it is not {wanted} lowercase hex digits", repo_id, False)
    return value


def check_sha256(value: object, repo_id: str | None = None) -> str:
    """An LFS sha256 (it names the cached blob); the Hub's upper-case spelling is accepted."""
    if isinstance(value, str):
        value = value.lower()
    return _check_hex("sha256", value, (SHA256_HEX_CHARS,), repo_id)


def check_commit(value: object, repo_id: str | None = None) -> str:
    """A commit id (it names the snapshot folder)."""
    return _check_hex("commit id", value, (GIT_SHA1_HEX_CHARS, SHA256_HEX_CHARS), repo_id)


def is_commit_id(value: str) -> bool:
    """True when `value` is a commit id as `check_commit` accepts it (for values read from disk)."""
    return len(value) in (GIT_SHA1_HEX_CHARS, SHA256_HEX_CHARS) and _HEX_RE.fullmatch(value) is not None


def check_git_oid(value: object, repo_id: str | None = None) -> str:
    """A git blob id (it names the blob of a small, non-LFS file)."""
    return _check_hex("git blob id", value, (GIT_SHA1_HEX_CHARS, SHA256_HEX_CHARS), repo_id)


def inside(root: Path, path: Path) -> Path:
    """`path`, once every link and '..' in it is resolved, lies under `root`: else refuse.

    The names were checked already; this catches what a check of names cannot (a folder
    under `root` that is a link to somewhere else).
    """
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UntrustedValueError(
            f"refusing to write {str(path)!r}: it resolves to {str(resolved)!r}, outside {str(root)!r}"
        )
    return path


def is_safe_repo_path(value: str) -> bool:
    """True when `value` passes `check_repo_path` (for filtering listings)."""
    return _problem(value) is None
