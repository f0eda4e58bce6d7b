"""A large catalog's indexed copy read lazily (picker/catalog/lazymodels.py, builtcache.py):
each record read back equals the one written, a ranking reads only the records it visits and
ranks as from the whole catalog, and an index that is off in any way refuses the copy whole."""

from __future__ import annotations

import json
import random
import time
import zlib
from itertools import accumulate
from pathlib import Path

import pytest

from picker.cachefiles import sealed
from picker.catalog import builtcache, load_catalog_from, plain, shipped_data_dir
from picker.catalog.facts import facts_of, model_facts, model_ids
from picker.catalog.lazymodels import DamagedCopyError, LazyModels
from picker.catalog.types import Catalog
from picker.hardware.model import CpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.overrides import HardwareOverrides, apply_overrides
from picker.paths import picker_paths
from picker.rank.engine import RankOptions, RankResult, recommend
from picker.rank.usecases import USE_CASES
from picker.speed.cpu_bandwidth import CpuBandwidth

GIB = 2**30
CPU_BANDWIDTH = CpuBandwidth(40e9, 38e9, 8, 32 << 20, 0.2, time.time(), "test", "test profile")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_from(shipped_data_dir())


def _indexed(catalog: Catalog, cache_dir: Path, key: str = "k") -> LazyModels:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtcache, "INDEXED_FROM_MODELS", 0)
        builtcache.write(cache_dir, key, catalog)
    found = builtcache.read(cache_dir, key)
    assert found is not None and isinstance(found.models, LazyModels)
    return found.models


def _decoded(models: LazyModels) -> int:
    return sum(model is not None for model in models._models)


def test_lazy_records_equal_the_eager_ones_in_any_order(catalog: Catalog, tmp_path: Path) -> None:
    models = _indexed(catalog, tmp_path)
    count = len(catalog.models)
    assert len(models) == count and _decoded(models) == 0
    assert list(model_facts(models)) == list(model_facts(catalog.models))  # from the index alone
    assert model_ids(models) == model_ids(catalog.models) == [model.id for model in catalog.models]
    assert _decoded(models) == 0
    order = list(range(count))
    random.Random(13).shuffle(order)
    for position in order[: count // 2]:
        assert models[position] == catalog.models[position]
        assert facts_of(models[position]) == models.facts[position]
    assert models[-1] == catalog.models[-1] and models[-count] == catalog.models[0]
    assert models[3:9:2] == catalog.models[3:9:2]
    assert models[5] is models[5]  # decoded once
    read_before = models[5]
    with pytest.raises(IndexError):
        models[count]
    assert 0 < _decoded(models) < count
    assert list(models) == list(catalog.models) and models == catalog.models  # the rest at once
    assert _decoded(models) == count and models[5] is read_before
    assert models != catalog.models[1:] and tuple(models) == catalog.models
    assert catalog.models[0] in models


def _machine(rng: random.Random) -> HardwareSnapshot:
    cpu = CpuInfo("test CPU", "x86_64", 8, 16, ("AVX2", "FMA"), inference_threads=8)
    base = HardwareSnapshot(cpu=cpu, memory=MemoryInfo(4 * GIB, 4 * GIB, 0, 0), disk=None, gpus=(),
                            os="Linux")
    ram = rng.choice((8, 16, 32, 64, 128)) * GIB
    if rng.random() < 0.5:
        return apply_overrides(base, HardwareOverrides(ram_bytes=ram))
    vram = (rng.choice((8, 12, 16, 24, 48)) * GIB,)
    return apply_overrides(base, HardwareOverrides(ram_bytes=ram, vram_bytes=vram,
                                                   gpu_name=rng.choice(("RTX 3090", "RTX 4060"))))


def _summary(result: RankResult) -> list[tuple[object, ...]]:
    return [(r.model, r.candidate.quant.type, r.score, r.quality.why, r.notes, r.runtime_settings)
            for r in result.recommendations]


@pytest.mark.parametrize("seed", range(6))
def test_a_ranking_reads_only_the_records_it_visits_and_ranks_as_the_whole_catalog(
        catalog: Catalog, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The shipped catalog's copy indexed, ranked as `picker --json` ranks it (through the
    loader, its quality table kept by a first ranking): the same recommendations and exclusions
    as the catalog read whole, with fewer records decoded than the catalog holds."""
    rng = random.Random(seed)
    snapshot = _machine(rng)
    use_case = rng.choice(sorted(USE_CASES))
    options = RankOptions(use_case=use_case, limit=rng.choice((1, 3, 10)),
                          commercial_only=rng.random() < 0.3,
                          capabilities=("tools",) if rng.random() < 0.2 else (),
                          min_tokens_per_second=rng.choice((1.0, 5.0, 15.0)))
    monkeypatch.setattr(builtcache, "INDEXED_FROM_MODELS", 0)
    cache = picker_paths().cache_dir
    recommend(snapshot, load_catalog_from(shipped_data_dir(), cache_dir=cache), options,
              CPU_BANDWIDTH)  # the copy and the quality table kept
    lazy = load_catalog_from(shipped_data_dir(), cache_dir=cache)
    assert isinstance(lazy.models, LazyModels) and _decoded(lazy.models) == 0
    from_lazy = recommend(snapshot, lazy, options, CPU_BANDWIDTH)
    whole = recommend(snapshot, catalog, options, CPU_BANDWIDTH)
    assert _summary(from_lazy) == _summary(whole)
    assert from_lazy.excluded == whole.excluded
    assert _decoded(lazy.models) < len(catalog.models)
    assert _decoded(lazy.models) >= len(from_lazy.recommendations)


def _section(records: list[bytes]) -> tuple[bytes, list[int]]:
    """The records as the copy keeps them, one JSON array, and where each ends in it."""
    ends = [1 + total + commas for commas, total in enumerate(accumulate(map(len, records)))]
    return b"[" + b",".join(records) + b"]", ends


def _records(section: bytes, ends: list[int]) -> list[bytes]:
    return [section[start:end] for start, end in zip([1, *(end + 1 for end in ends[:-1])], ends,
                                                     strict=True)]


def _payload_parts(cache_dir: Path, key: str) -> tuple[list[object], bytes, bytes]:
    data = builtcache.cache_path(cache_dir, key).read_bytes()
    _, index, rest, records = data.split(b"\n", 3)
    return json.loads(index), rest, records


def _plant(cache_dir: Path, key: str, index: object, rest: bytes, records: bytes,
           format_version: int = builtcache.INDEXED_FORMAT_VERSION) -> None:
    payload = json.dumps(index).encode() + b"\n" + rest + b"\n" + records
    builtcache.cache_path(cache_dir, key).write_bytes(sealed(payload, format=format_version, key=key))


def test_a_damaged_or_planted_index_refuses_the_copy_whole(catalog: Catalog, tmp_path: Path) -> None:
    _indexed(catalog, tmp_path, "good")
    (facts, ends), rest, records = _payload_parts(tmp_path, "good")
    assert isinstance(facts, list) and isinstance(ends, list)
    first = list(facts[0])
    planted = [
        [facts, [ends[1], ends[0], *ends[2:]]],  # ends out of order
        [facts, [*ends[:-1], ends[-1] - 1]],  # the last record cut short
        [facts, [*ends[:-1], ends[-1] + 1]],  # or said to run past the end
        [facts, [0, *ends[1:]]],  # a first record ending before it starts
        [facts, [1, *ends[1:]]],  # an empty first record
        [facts[:-1], ends],  # one entry missing
        [facts, ends[:-1]],
        [[facts[1], *facts[1:]], ends],  # two models with one id
        [[[first[0], "yes", *first[2:]], *facts[1:]], ends],  # runnable: text for a bool
        [[[first[0], first[1], first[2], "tools", first[4]], *facts[1:]], ends],  # capabilities
        [[[*first[:4], 8192.5], *facts[1:]], ends],  # trained context: not a whole number
        [[first[:4], *facts[1:]], ends],  # a field missing
        [facts, [float(end) for end in ends]],
        {"facts": facts, "ends": ends},
        [],
    ]
    for index in planted:
        _plant(tmp_path, "bad", index, rest, records)
        assert builtcache.read(tmp_path, "bad") is None, index
    for rest_planted in (b'[[],[],[],{},[]]', b'[["a model"],' + rest[4:], b"{}", b"not json"):
        _plant(tmp_path, "bad", [facts, ends], rest_planted, records)
        assert builtcache.read(tmp_path, "bad") is None, rest_planted
    _plant(tmp_path, "bad", [facts, ends], rest, records, builtcache.FORMAT_VERSION)  # other format
    assert builtcache.read(tmp_path, "bad") is None
    good = builtcache.cache_path(tmp_path, "good").read_bytes()
    middle = len(good) // 2  # one bit of one record changed: the checksum says so
    for damaged in (good[:-1], good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1:],
                    good.replace(b"\n", b" ", 2)):
        builtcache.cache_path(tmp_path, "bad").write_bytes(damaged)
        assert builtcache.read(tmp_path, "bad") is None
    builtcache.cache_path(tmp_path, "other").write_bytes(good)  # another key's copy
    assert builtcache.read(tmp_path, "other") is None
    _plant(tmp_path, "same", [facts, ends], rest, records)  # the same, unchanged, reads back
    found = builtcache.read(tmp_path, "same")
    assert found is not None and found == catalog


def test_a_rebuild_unlike_the_index_stops_the_run_with_one_line(catalog: Catalog, tmp_path: Path) -> None:
    """A record unlike its index, and the catalog built afresh unlike it too (the index lied
    about the catalog, and the run has used it already): an error that says what to do."""
    _indexed(catalog, tmp_path, "k")
    (facts, ends), rest, records = _payload_parts(tmp_path, "k")
    assert isinstance(ends, list)
    planted, planted_ends = _section([json.dumps(plain.to_plain(catalog.models[1])).encode(),
                                      *_records(records, ends)[1:]])
    _plant(tmp_path, "k", [facts, planted_ends], rest, planted)
    found = builtcache.read(tmp_path, "k", rebuild=lambda: catalog._replace(models=catalog.models[1:]))
    assert found is not None
    with pytest.raises(DamagedCopyError, match="built again: run the command again"):
        found.models[0]
    assert not builtcache.cache_path(tmp_path, "k").exists()


def test_the_index_line_is_what_the_records_say(catalog: Catalog, tmp_path: Path) -> None:
    """What is written: every model's facts and the end of its record, which decodes alone."""
    _indexed(catalog, tmp_path)
    (facts, ends), _, records = _payload_parts(tmp_path, "k")
    assert isinstance(facts, list) and isinstance(ends, list)
    assert facts == plain.to_plain(tuple(map(facts_of, catalog.models)))
    assert len(ends) == len(catalog.models)
    for model, record in zip(catalog.models, _records(records, ends), strict=True):
        assert plain.from_plain(type(model), json.loads(record)) == model
    assert plain.from_plain(Catalog, [json.loads(records), [], {}, {}, []]).models == catalog.models
    assert zlib.crc32(records) == zlib.crc32(_section([
        json.dumps(plain.to_plain(model), separators=(",", ":"), ensure_ascii=False).encode()
        for model in catalog.models])[0])
