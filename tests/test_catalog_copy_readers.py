"""The validated catalog's copy read by either of its readers (picker/catalog/builtcache.py):
msgspec's typed decoder for a large copy and json with plain.py for a small one give the same
catalog, value for value and type for type, and each refuses a copy whose values do not fit."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import pytest

from picker.cachefiles import sealed
from picker.catalog import builtcache, load_catalog_from, plain, shipped_data_dir
from picker.catalog.types import Catalog

ALWAYS, NEVER = 0, 10**12  # TYPED_DECODER_BYTES that send every copy to one reader


def _typed(value: object) -> object:
    """The value with the type of every part spelled out (90 and 90.0, a list and a tuple
    differ here, not under ==)."""
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


def _read_with(reader_bytes: int, cache_dir: Path, key: str,
               monkeypatch: pytest.MonkeyPatch) -> Catalog | None:
    with monkeypatch.context() as patch:
        patch.setattr(builtcache, "TYPED_DECODER_BYTES", reader_bytes)
        return builtcache.read(cache_dir, key)


def test_both_readers_give_the_same_catalog(catalog: Catalog, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    builtcache.write(tmp_path, "k", catalog)
    by_json = _read_with(NEVER, tmp_path, "k", monkeypatch)
    with monkeypatch.context() as patch:  # the typed reader needs no part of plain.py's
        patch.setattr(plain, "from_plain", lambda *_: pytest.fail("read by plain.py"))
        by_msgspec = _read_with(ALWAYS, tmp_path, "k", monkeypatch)
    assert by_json is not None and by_msgspec is not None
    assert _typed(by_msgspec) == _typed(by_json) == _typed(catalog)


def test_without_msgspec_a_large_copy_is_read_by_json(catalog: Catalog, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    builtcache.write(tmp_path, "k", catalog)
    monkeypatch.setitem(sys.modules, "msgspec", None)  # `import msgspec` raises ImportError
    found = _read_with(ALWAYS, tmp_path, "k", monkeypatch)
    assert found is not None and _typed(found) == _typed(catalog)


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


@pytest.mark.parametrize("reader_bytes", [ALWAYS, NEVER], ids=["msgspec", "json"])
def test_each_reader_refuses_a_copy_whose_values_do_not_fit(
        catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader_bytes: int) -> None:
    raw = plain.to_plain(catalog)
    assert isinstance(raw, list)
    for index, planted in enumerate(_unfit_copies(raw)):
        _plant(tmp_path, "bad", planted)
        assert _read_with(reader_bytes, tmp_path, "bad", monkeypatch) is None, index
    _plant(tmp_path, "good", raw)  # the same, unchanged, reads back
    found = _read_with(reader_bytes, tmp_path, "good", monkeypatch)
    assert found is not None and _typed(found) == _typed(catalog)


def test_a_large_copy_that_does_not_fit_is_built_again(catalog: Catalog, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(builtcache, "TYPED_DECODER_BYTES", ALWAYS)
    first = load_catalog_from(shipped_data_dir(), cache_dir=cache)
    (path,) = cache.glob("catalog-copy-*.json")
    key = path.name[len("catalog-copy-"):-len(".json")]
    raw = plain.to_plain(catalog)
    assert isinstance(raw, list)
    _plant(cache, key, _unfit_copies(raw)[2])
    assert builtcache.read(cache, key) is None
    assert _typed(load_catalog_from(shipped_data_dir(), cache_dir=cache)) == _typed(first)
    assert builtcache.read(cache, key) is not None  # written again, whole


@pytest.mark.parametrize("reader_bytes", [ALWAYS, NEVER], ids=["msgspec", "json"])
def test_a_copy_read_back_is_left_out_of_later_collections(
        catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader_bytes: int) -> None:
    builtcache.write(tmp_path, "k", catalog)
    gc.unfreeze()
    try:
        found = _read_with(reader_bytes, tmp_path, "k", monkeypatch)
        assert found is not None
        # Every model's tracked parts (its tuples of quantizations, scores...) at least.
        assert gc.get_freeze_count() > len(found.models)
        assert gc.isenabled()
    finally:
        gc.unfreeze()
