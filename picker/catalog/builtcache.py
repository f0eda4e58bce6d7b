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

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from picker.cachefiles import checksum, drop_older_copies, identity, write_whole

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from picker.catalog.types import Catalog

FORMAT_VERSION = 2
KEPT_COPIES = 4
# The modules whose code decides what a loaded catalog is.
_CODE_FILES = ("build.py", "loader.py", "schema.py", "types.py")


def cache_key(entries: Sequence[Traversable | Path]) -> str | None:
    """A digest of the files' identities and of the loading code, or None when they are not
    plain files (a zipped install: no caching)."""
    from picker import __version__

    identities = [f"v{FORMAT_VERSION}", __version__]
    here = Path(__file__).parent
    try:
        identities += [identity(here / name) for name in _CODE_FILES]
        for entry in entries:
            if not isinstance(entry, Path):
                return None
            identities.append(identity(entry))
    except OSError:
        return None
    return checksum(identities)


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

    try:
        data = pickle.dumps(catalog, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    path = cache_path(cache_dir, key)
    if write_whole(path, data):
        drop_older_copies(path, "catalog-*.pickle", KEPT_COPIES)
        for legacy in cache_dir.glob("catalog-parsed-*.json"):  # the JSON parse cache it replaced
            legacy.unlink(missing_ok=True)
