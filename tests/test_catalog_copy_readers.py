"""The validated catalog's copy read back in either layout (picker/catalog/builtcache.py): a
small catalog's copy whole, by json and plain.py; a large one's indexed, each record decoded
when first read, by msgspec's typed decoder or (without msgspec) json and plain.py. Each gives
the same catalog, value for value and type for type, and each refuses values that do not fit."""

from __future__ import annotations

import gc
import json
import sys
from itertools import accumulate
from pathlib import Path

import pytest

from picker.cachefiles import sealed
from picker.catalog import builtcache, load_catalog_from, plain, shipped_data_dir
from picker.catalog.facts import facts_of
from picker.catalog.lazymodels import DamagedCopyError, LazyModels
from picker.catalog.types import Catalog

INDEXED, WHOLE = 0, 10**9  # INDEXED_FROM_MODELS that writes every copy in one layout


def _typed(value: object) -> object:
    """The value with the type of every part spelled out (90 and 90.0, a list and a tuple
    differ here, not under ==); a lazily read catalog's models as the tuple they stand for."""
    if isinstance(value, Catalog) and isinstance(value.models, LazyModels):
        value = value._replace(models=tuple(value.models))
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return [type(value).__name__, *map(_typed, value)]
    if isinstance(value, frozenset):
        return ["frozenset", *sorted(map(repr, value))]
    if isinstance(value, tuple | list):
        return [type(value).__name__, *map(_typed, value)]
    if isinstance(value, dict):
        return ["dict", *[(key, _typed(item)) for key, item in value.items()]]
    return [type(value).__name__, value]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_from(shipped_data_dir())


def _write_with(layout: int, cache_dir: Path, key: str, catalog: Catalog,
                monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(builtcache, "INDEXED_FROM_MODELS", layout)
        builtcache.write(cache_dir, key, catalog)


def test_every_layout_and_reader_gives_the_same_catalog(catalog: Catalog, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _write_with(WHOLE, tmp_path / "whole", "k", catalog, monkeypatch)
    _write_with(INDEXED, tmp_path / "indexed", "k", catalog, monkeypatch)
    whole = builtcache.read(tmp_path / "whole", "k")
    with monkeypatch.context() as patch:  # msgspec reads every part of it, not plain.py
        patch.setattr(plain, "from_plain", lambda *_: pytest.fail("read by plain.py"))
        by_msgspec = builtcache.read(tmp_path / "indexed", "k")
        assert by_msgspec is not None and isinstance(by_msgspec.models, LazyModels)
        typed_by_msgspec = _typed(by_msgspec)
    monkeypatch.setitem(sys.modules, "msgspec", None)  # `import msgspec` raises ImportError
    by_json = builtcache.read(tmp_path / "indexed", "k")
    assert whole is not None and by_json is not None
    assert typed_by_msgspec == _typed(by_json) == _typed(whole) == _typed(catalog)
    assert by_json == catalog and by_msgspec == catalog  # the lazy models equal to a tuple


def _plant(cache_dir: Path, key: str, raw: object) -> None:
    """A copy with a sound envelope around `raw` (a planted file, not a damaged one)."""
    payload = json.dumps(raw).encode()
    builtcache.cache_path(cache_dir, key).write_bytes(
        sealed(payload, format=builtcache.FORMAT_VERSION, key=key))


def _unfit_copies(raw: list[object]) -> list[object]:
    """The plain copy with one value that does not fit its field, one kind each."""
    def with_model(change: dict[int, object]) -> list[object]:
        models = raw[0]
        assert isinstance(models, list)
        first = list(models[0])
        for index, value in change.items():
            first[index] = value
        return [[first, *models[1:]], *raw[1:]]

    first = raw[0][0]  # type: ignore[index]
    architecture = list(first[8])
    return [
        {"models": raw[0]},  # not a list of fields
        with_model({0: 7}),  # id: a number for text
        with_model({6: True}),  # parameters: a bool for an int
        with_model({6: "8B"}),  # parameters: text for an int
        with_model({8: [*architecture[:1], "many", *architecture[2:]]}),  # layers: text
        with_model({9: "instruct"}),  # capabilities: text for a list
        with_model({13: [[]]}),  # quantizations: an empty record
        with_model({14: [["mmlu", "high", "seed"]]}),  # a score as text
        [raw[0], raw[1], [], *raw[3:]],  # quant types: a list for a map
        raw[:2],  # fields missing
    ]


def _plant_indexed(cache_dir: Path, key: str, catalog: Catalog, raw: object) -> None:
    """An indexed copy with a sound envelope and `catalog`'s index around `raw`'s records and
    the rest of it (where `raw` is not a list of models and the rest, it stands for the rest)."""
    models = raw[0] if isinstance(raw, list) and len(raw) == 5 else plain.to_plain(catalog.models)
    rest = [[], *raw[1:]] if isinstance(raw, list) and len(raw) == 5 else raw
    assert isinstance(models, list)
    records = [json.dumps(model).encode() for model in models]
    ends = [1 + total + commas for commas, total in enumerate(accumulate(map(len, records)))]
    index = [plain.to_plain(tuple(map(facts_of, catalog.models))), ends]
    payload = b"\n".join([json.dumps(index).encode(), json.dumps(rest).encode(),
                          b"[" + b",".join(records) + b"]"])
    builtcache.cache_path(cache_dir, key).write_bytes(
        sealed(payload, format=builtcache.INDEXED_FORMAT_VERSION, key=key))


@pytest.fixture(params=["msgspec", "json"])
def record_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """An indexed copy's records read by msgspec, or by json and plain.py without it."""
    if request.param == "json":
        monkeypatch.setitem(sys.modules, "msgspec", None)
    return str(request.param)


def test_the_whole_copy_is_refused_where_a_value_does_not_fit(
        catalog: Catalog, tmp_path: Path) -> None:
    raw = plain.to_plain(catalog)
    assert isinstance(raw, list)
    for index, planted in enumerate(_unfit_copies(raw)):
        _plant(tmp_path, "bad", planted)
        assert builtcache.read(tmp_path, "bad") is None, index
    _plant(tmp_path, "good", raw)  # the same, unchanged, reads back
    found = builtcache.read(tmp_path, "good")
    assert found is not None and _typed(found) == _typed(catalog)


def test_an_indexed_copy_refuses_each_value_that_does_not_fit(
        catalog: Catalog, tmp_path: Path, record_reader: str) -> None:
    """The rest of the catalog is checked as the copy is read; a model's record when it is
    first read: one that does not fit stops the run with a one-line error (no way to build the
    catalog afresh here) and the copy is removed."""
    raw = plain.to_plain(catalog)
    assert isinstance(raw, list)
    path = builtcache.cache_path(tmp_path, "bad")
    for index, planted in enumerate(_unfit_copies(raw)):
        _plant_indexed(tmp_path, "bad", catalog, planted)
        found = builtcache.read(tmp_path, "bad")
        if index in (0, 8, 9):  # the rest of the catalog does not fit: refused whole
            assert found is None, index
            continue
        assert found is not None and found.models[1] == catalog.models[1], index
        with pytest.raises(DamagedCopyError, match="run the command again"):
            found.models[0]
        assert not path.exists(), index
        _plant_indexed(tmp_path, "bad", catalog, planted)  # read all at once: the same
        found = builtcache.read(tmp_path, "bad")
        assert found is not None, index
        with pytest.raises(DamagedCopyError, match="run the command again"):
            list(found.models)
    _plant_indexed(tmp_path, "good", catalog, raw)  # the same, unchanged, reads back
    found = builtcache.read(tmp_path, "good")
    assert found is not None and _typed(found) == _typed(catalog)


def test_a_record_unlike_its_index_is_replaced_by_the_catalog_built_again(
        catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_reader: str) -> None:
    """Through the loader: the bad record is found when the ranking would read it, the catalog
    is built afresh from its files (the same as the index says), every record is served from
    that, and the copy is written again whole."""
    cache = tmp_path / "cache"
    monkeypatch.setattr(builtcache, "INDEXED_FROM_MODELS", INDEXED)
    first = load_catalog_from(shipped_data_dir(), cache_dir=cache)
    (path,) = cache.glob("catalog-copy-*.json")
    key = path.name[len("catalog-copy-"):-len(".json")]
    raw = plain.to_plain(catalog)
    assert isinstance(raw, list)
    for planted in (_unfit_copies(raw)[2],  # a value of another type
                    [[raw[0][1], *raw[0][1:]], *raw[1:]]):  # another model's record, sound
        _plant_indexed(cache, key, catalog, planted)
        found = load_catalog_from(shipped_data_dir(), cache_dir=cache)
        assert isinstance(found.models, LazyModels)
        assert found.models[0] == first.models[0]  # rebuilt, not the planted record
        assert _typed(found) == _typed(first)
        _plant_indexed(cache, key, catalog, planted)  # read all at once: the same
        found = load_catalog_from(shipped_data_dir(), cache_dir=cache)
        assert list(found.models) == list(first.models)
        kept = builtcache.read(cache, key)  # written again, whole
        assert kept is not None and _typed(kept) == _typed(first)


@pytest.mark.parametrize("layout", [INDEXED, WHOLE], ids=["indexed", "whole"])
def test_a_copy_read_back_is_left_out_of_later_collections(
        catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: int) -> None:
    _write_with(layout, tmp_path, "k", catalog, monkeypatch)
    gc.unfreeze()
    try:
        found = builtcache.read(tmp_path, "k")
        assert found is not None
        # Every model's tracked parts (its tuples of quantizations, or its facts) at least.
        assert gc.get_freeze_count() > len(found.models)
        assert gc.isenabled()
    finally:
        gc.unfreeze()
