"""A copy of the validated catalog, so `picker --json` does not parse and check it again.

Parsing the TOML (tomllib is pure Python: ~30 ms) and validating and building
the typed records (~10 ms) happen once; later runs read the finished `Catalog`
back (~2 ms). The copy lives in the user's cache dir under a key made of every
catalog file's path, size and modification time and of the code that validates
and builds them (picker's version and these modules' own files), so an edited
entry or a changed validator always means a fresh, validated load.

The copy is data, never code: one line of JSON naming the format, the key and the
checksum and length of the rest, then the catalog as plain JSON values (plain.py),
rebuilt record by record with every field's type checked. A copy that is damaged,
foreign, stale or planted in any way reads as None, and the catalog is loaded afresh.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from picker.cachefiles import (
    checksum,
    drop_older_copies,
    identity,
    read_bytes,
    sealed,
    unsealed,
    write_whole,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from picker.catalog.types import Catalog

FORMAT_VERSION = 3
KEPT_COPIES = 4
# From this size of copy (~700 models) msgspec's decoder reads it (`_decode_typed`): importing
# msgspec costs ~20 ms, so smaller copies (the shipped catalog's is ~0.3 MB) are read with
# json and plain.py, which costs ~36 us a model against msgspec's ~7 (this 2-core machine,
# 2026-12-06; benchmarks/catalog_scale_figures.md).
TYPED_DECODER_BYTES = 1_500_000
# The modules whose code decides what a loaded catalog is.
_CODE_FILES = ("build.py", "loader.py", "schema.py", "types.py", "plain.py")


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
    return cache_dir / f"catalog-copy-{key}.json"


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while, as it was before afterwards. Decoding the copy
    makes only acyclic, long-lived records, but their allocations set off collections that walk
    every object made so far: with a 5,000-model catalog (benchmarks/bench_catalog_scale.py) a
    sixth of `picker --json`'s CPU time (median 888 -> 736 ms on this 2-core machine, 2026-12-06;
    with the shipped catalog no change)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read(cache_dir: Path, key: str) -> Catalog | None:
    """The cached catalog, or None when there is none or it is not exactly what was written."""
    from picker.catalog.plain import PlainValueError, from_plain
    from picker.catalog.types import Catalog

    data = read_bytes(cache_path(cache_dir, key))
    payload = None if data is None else unsealed(data, format=FORMAT_VERSION, key=key)
    if payload is None:  # none, or truncated, edited or foreign
        return None
    try:
        with _collector_paused():
            decode = _typed_decoder() if len(payload) >= TYPED_DECODER_BYTES else None
            catalog = decode(payload) if decode is not None else from_plain(
                Catalog, json.loads(payload.tobytes()))
            if catalog is not None:
                # The records live as long as the process and hold no cycles: moved to the
                # collector's permanent generation (before it is on again), the collections
                # that later allocations set off no longer walk them (they are still freed when
                # dropped; only cycles made before now would stay). 5,000 models: picker --json
                # 321 -> 251 ms CPU; the shipped catalog: no change.
                gc.freeze()
            return catalog
    except (ValueError, RecursionError, PlainValueError):
        return None


def _typed_decoder() -> Callable[[memoryview], Catalog | None] | None:
    """msgspec's typed JSON decoder of a catalog copy (C: every field's type checked while it
    is parsed, the records made directly; None for a copy that does not fit), or None where
    msgspec is not installed."""
    try:
        import msgspec
    except ImportError:
        return None
    from picker.catalog.types import Catalog

    decoder = msgspec.json.Decoder(Catalog)

    def decode(payload: memoryview) -> Catalog | None:
        try:
            return decoder.decode(payload)
        except msgspec.MsgspecError:
            return None
    return decode


def write(cache_dir: Path, key: str, catalog: Catalog) -> None:
    """Store a validated catalog; silently gives up if the cache dir is not writable."""
    from picker.catalog.plain import to_plain

    try:
        payload = json.dumps(to_plain(catalog), separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return
    path = cache_path(cache_dir, key)
    if write_whole(path, sealed(payload, format=FORMAT_VERSION, key=key)):
        drop_older_copies(path, "catalog-copy-*.json", KEPT_COPIES)
        for legacy in cache_dir.glob("catalog-*.pickle"):  # the pickled copies it replaced
            with contextlib.suppress(OSError):
                legacy.unlink(missing_ok=True)
