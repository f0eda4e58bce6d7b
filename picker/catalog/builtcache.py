"""A copy of the validated catalog, so `picker --json` does not parse and check it again.

Parsing the TOML (tomllib is pure Python: ~30 ms) and validating and building
the typed records (~10 ms) happen once; later runs unpickle the finished
`Catalog` (~1 ms). The copy lives in the user's cache dir under a key made of
every catalog file's path, size and modification time and of the code that
validates and builds them (picker's version and these modules' own files), so
an edited entry or a changed validator always means a fresh, validated load.
Any problem reading the copy falls back to that load.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from picker.catalog.types import Catalog

FORMAT_VERSION = 2
KEPT_COPIES = 4
# The modules whose code decides what a loaded catalog is.
_CODE_FILES = ("build.py", "loader.py", "schema.py", "types.py")


def _identity(path: Path) -> str:
    stat = path.stat()
    return f"{path.absolute()}\0{stat.st_size}\0{stat.st_mtime_ns}"


def cache_key(entries: Sequence[Traversable | Path]) -> str | None:
    """A digest of the files' identities and of the loading code, or None when they are not
    plain files (a zipped install: no caching)."""
    from picker import __version__

    identity = [f"v{FORMAT_VERSION}", __version__]
    here = Path(__file__).parent
    try:
        identity += [_identity(here / name) for name in _CODE_FILES]
        for entry in entries:
            if not isinstance(entry, Path):
                return None
            identity.append(_identity(entry))
    except OSError:
        return None
    data = "\n".join(identity).encode()
    # Two cheap checksums (zlib is built in; hashlib costs ~5 ms to import here).
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def _modified(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"catalog-{key}.pickle"


def read(cache_dir: Path, key: str) -> Catalog | None:
    """The cached catalog, or None when there is none or it cannot be read back."""
    import pickle

    from picker.catalog.types import Catalog

    try:
        with cache_path(cache_dir, key).open("rb") as handle:
            catalog = pickle.load(handle)
    except Exception:  # a truncated, foreign or stale-format file: load the catalog instead
        return None
    return catalog if isinstance(catalog, Catalog) else None


def write(cache_dir: Path, key: str, catalog: Catalog) -> None:
    """Store a validated catalog; silently gives up if the cache dir is not writable."""
    import pickle
    import tempfile

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Keep the newest few: two installs of picker (say, two virtual environments) share
        # the cache dir and would otherwise evict each other's copy on every run.
        copies = sorted(cache_dir.glob("catalog-*.pickle"), key=_modified, reverse=True)
        for stale in (*copies[KEPT_COPIES - 1:], *cache_dir.glob("catalog-parsed-*.json")):
            stale.unlink(missing_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(catalog, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, cache_path(cache_dir, key))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        Path(temporary).unlink(missing_ok=True)  # never leave a half-written copy behind
