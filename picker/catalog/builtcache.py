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

A large catalog's copy (from INDEXED_FROM_MODELS models) is indexed: after that line, one
line with every model's filter facts and where its record ends, one with the rest of the
catalog, then the models' records one after another. It is read back as `LazyModels`
(lazymodels.py): a record is decoded, and its types checked, when it is first read, so a
ranking that plans a few of 5,000 models decodes those it visits.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

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

    from picker.catalog.types import Catalog, Model

FORMAT_VERSION = 3  # the whole catalog as one plain value
INDEXED_FORMAT_VERSION = 4  # an index, the rest of the catalog, the models' records
_INDEXED_HEAD = f'{{"format": {INDEXED_FORMAT_VERSION},'.encode()
KEPT_COPIES = 4
# From this many models the copy is indexed and read lazily. Reading a record lazily takes
# msgspec (its import costs ~15-20 ms on picker's path) and the index; reading the whole copy
# with json and plain.py costs ~36 us a model (this 2-core machine, 2026-12-06;
# benchmarks/catalog_scale_figures.md), so the shipped catalog's ~150 models are read whole.
INDEXED_FROM_MODELS = 500
# The modules whose code decides what a loaded catalog is.
_CODE_FILES = ("build.py", "loader.py", "schema.py", "types.py", "plain.py", "facts.py",
               "lazymodels.py")


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


def read(cache_dir: Path, key: str,
         rebuild: Callable[[], Catalog] | None = None) -> Catalog | None:
    """The cached catalog, or None when there is none or it is not exactly what was written.
    `rebuild` builds it afresh from its files, for an indexed copy whose record turns out to
    be unlike its index only when it is read (lazymodels.py); without it that is an error."""
    from picker.catalog.plain import PlainValueError, from_plain
    from picker.catalog.types import Catalog

    path = cache_path(cache_dir, key)
    data = read_bytes(path)
    # The format is the first key `sealed` writes; `unsealed` checks the whole line after.
    indexed = data is not None and data.startswith(_INDEXED_HEAD)
    payload = None if data is None else unsealed(
        data, format=INDEXED_FORMAT_VERSION if indexed else FORMAT_VERSION, key=key)
    if data is None or payload is None:  # none, or truncated, edited or foreign
        return None
    try:
        with _collector_paused():
            if indexed:
                catalog = _read_indexed(data, len(data) - len(payload), _Recovery(path, rebuild))
            else:
                catalog = from_plain(Catalog, json.loads(payload.tobytes()))
            if catalog is not None:
                # The records live as long as the process and hold no cycles: moved to the
                # collector's permanent generation (before it is on again), the collections
                # that later allocations set off no longer walk them (they are still freed when
                # dropped; only cycles made before now would stay). 5,000 models read whole:
                # picker --json 321 -> 251 ms CPU; the shipped catalog: no change.
                gc.freeze()
            return catalog
    except (ValueError, RecursionError, PlainValueError):
        return None


class _Recovery:
    """What an indexed copy's models do with a record unlike its index: remove the copy, and
    build the catalog afresh (the run stops with a one-line error where nothing can)."""

    def __init__(self, path: Path, rebuild: Callable[[], Catalog] | None) -> None:
        self.path, self._rebuild = path, rebuild

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def models(self) -> Sequence[Model]:
        from picker.catalog.lazymodels import DamagedCopyError

        if self._rebuild is None:
            raise DamagedCopyError("the catalog's cached copy did not match its index (it was "
                                   "edited or planted) and has been removed: run the command again")
        return self._rebuild().models


def _read_indexed(data: bytes, start: int, recovery: _Recovery) -> Catalog | None:
    """An indexed copy (its payload from `start`) as a catalog whose models are read lazily;
    None where its index or the rest of the catalog does not fit."""
    from operator import lt

    from picker.catalog.lazymodels import CopyIndex, LazyModels
    from picker.catalog.types import Catalog, Model

    index_end = data.find(b"\n", start)
    rest_end = data.find(b"\n", index_end + 1)
    if index_end < 0 or rest_end < 0:
        return None
    view = memoryview(data)
    index = _decoder(CopyIndex)(view[start:index_end])
    rest = _decoder(Catalog)(view[index_end + 1:rest_end])
    records = view[rest_end + 1:]
    if index is None or rest is None or rest.models:
        return None
    facts, ends = index
    ids = {entry.id for entry in facts}
    if (len(ends) != len(facts) or len(ids) != len(facts) or not ends or ends[0] <= 1
            or ends[-1] != len(records) - 1 or not all(map(lt, ends, ends[1:]))):
        return None
    return rest._replace(models=LazyModels(
        facts, records, ends, _kept(_decoder(Model)), _kept(_list_decoder(Model)),
        recovery.models, recovery.discard))


def _kept(decode: Callable[[memoryview], _Record | None]) -> Callable[[memoryview], _Record | None]:
    """`decode` for records read after the copy, which live on, acyclic, as its others: made
    with the collector paused and moved to its permanent generation likewise (else the
    collections their allocations set off walk every record read before them again: 1,000
    records read one by one in a ranking of 5,000 models, 12.6 -> 8.3 ms)."""
    def kept(data: memoryview) -> _Record | None:
        collecting = gc.isenabled()
        gc.disable()
        try:
            found = decode(data)
        finally:
            if collecting:
                gc.enable()
        if found is not None:
            gc.freeze()
        return found
    return kept


_Record = TypeVar("_Record")
_Value = TypeVar("_Value")


def _decoder(record_type: type[_Record]) -> Callable[[memoryview], _Record | None]:
    """A reader of one record type from its JSON bytes, every field's type checked (None for
    bytes that do not fit): msgspec's typed decoder (in C: ~5 us a model) where it is
    installed, else json and plain.py (~36 us)."""
    from picker.catalog.plain import from_plain

    return _typed_or_plain(record_type, record_type, from_plain)


def _list_decoder(record_type: type[_Record]) -> Callable[[memoryview], Sequence[_Record] | None]:
    """`_decoder` of a JSON array of records, read at once."""
    from picker.catalog.plain import many_from_plain

    return _typed_or_plain(tuple[record_type, ...], record_type,  # type: ignore[valid-type]
                           many_from_plain)


def _typed_or_plain(typed: object, record_type: type,
                    plain_read: Callable[[type, object], _Value]) -> Callable[[memoryview], _Value | None]:
    from picker.catalog.plain import PlainValueError

    try:
        import msgspec
    except ImportError:
        def plain_decode(data: memoryview) -> _Value | None:
            try:
                return plain_read(record_type, json.loads(data.tobytes()))
            except (ValueError, RecursionError, PlainValueError):
                return None
        return plain_decode
    decode = msgspec.json.Decoder(typed).decode
    failures = (msgspec.MsgspecError, RecursionError)

    def typed_decode(data: memoryview) -> _Value | None:
        try:
            return decode(data)  # type: ignore[no-any-return]
        except failures:
            return None
    return typed_decode


def write(cache_dir: Path, key: str, catalog: Catalog) -> None:
    """Store a validated catalog (indexed from INDEXED_FROM_MODELS models); silently gives up
    if the cache dir is not writable."""
    try:
        if len(catalog.models) >= INDEXED_FROM_MODELS:
            data = sealed(_indexed_payload(catalog), format=INDEXED_FORMAT_VERSION, key=key)
        else:
            data = sealed(_json(catalog), format=FORMAT_VERSION, key=key)
    except (TypeError, ValueError):
        return
    path = cache_path(cache_dir, key)
    if write_whole(path, data):
        drop_older_copies(path, "catalog-copy-*.json", KEPT_COPIES)
        for legacy in cache_dir.glob("catalog-*.pickle"):  # the pickled copies it replaced
            with contextlib.suppress(OSError):
                legacy.unlink(missing_ok=True)


def _json(value: object) -> bytes:
    from picker.catalog.plain import to_plain

    return json.dumps(to_plain(value), separators=(",", ":"), ensure_ascii=False).encode()


def _indexed_payload(catalog: Catalog) -> bytes:
    """The index line, the rest of the catalog's line, then the models' records as one JSON
    array (JSON keeps a newline inside text escaped, so the first two newlines end the two
    lines); a record ends where the index says, one byte before the comma after it."""
    from itertools import accumulate

    from picker.catalog.facts import facts_of
    from picker.catalog.lazymodels import CopyIndex

    records = [_json(model) for model in catalog.models]
    ends = (1 + total + commas for commas, total in enumerate(accumulate(map(len, records))))
    index = CopyIndex(tuple(map(facts_of, catalog.models)), tuple(ends))
    return b"\n".join([_json(index), _json(catalog._replace(models=())),
                       b"[" + b",".join(records) + b"]"])
