"""A JSON copy of the parsed catalog TOML, so `picker --json` stays fast.

tomllib is pure Python and takes ~30 ms for the whole catalog; json.loads of the
same documents takes under a millisecond. The copy lives in the user's cache dir,
keyed by every file's name, size and modification time, and is only a parse cache:
validation still runs on every load. Any problem with it falls back to parsing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_DATE_KEY = "$date"
FORMAT_VERSION = 1


def cache_key(entries: Sequence[Traversable | Path]) -> str | None:
    """A digest of the files' identities, or None when they are not plain files."""
    identity = [f"v{FORMAT_VERSION}"]
    for entry in entries:
        if not isinstance(entry, Path):
            return None
        try:
            stat = entry.stat()
        except OSError:
            return None
        identity.append(f"{entry.absolute()}\0{stat.st_size}\0{stat.st_mtime_ns}")
    data = "\n".join(identity).encode()
    # Two cheap checksums (zlib is built in; hashlib costs ~5 ms to import here).
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return {_DATE_KEY: value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__} in the parse cache")


def _decode(table: dict[str, Any]) -> Any:
    if len(table) == 1 and _DATE_KEY in table:
        return dt.date.fromisoformat(table[_DATE_KEY])
    return table


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"catalog-parsed-{key}.json"


def read(cache_dir: Path, key: str) -> dict[str, Any] | None:
    try:
        text = cache_path(cache_dir, key).read_text(encoding="utf-8")
        documents = json.loads(text, object_hook=_decode)
    except (OSError, ValueError):
        return None
    return documents if isinstance(documents, dict) else None


def write(cache_dir: Path, key: str, documents: dict[str, Any]) -> None:
    """Store the parsed documents; silently gives up if the cache dir is not writable."""
    import tempfile

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob("catalog-parsed-*.json"):
            stale.unlink(missing_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(documents, out, default=_encode)
        os.replace(temporary, cache_path(cache_dir, key))
    except (OSError, TypeError):
        return
