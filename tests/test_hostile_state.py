"""Nothing picker keeps on disk can run code or stop it: planted, damaged and foreign files.

Every cache and state file picker reads gets the same treatment: a pickle that would
create a marker file when unpickled, a marshal'd code object, the file's own valid
bytes cut in half, random bytes, an empty file, JSON nested too deep, JSON of the wrong
shape, a folder and a FIFO in its place. The reader must give its "nothing usable"
answer (and picker works the value out again), no code may run, and nothing may raise.
"""

from __future__ import annotations

import json
import marshal
import os
import pickle
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from picker.cachefiles import read_json

MARKER_NAME = "code-ran"


class _Planted:
    """Unpickling this runs `exec`, which would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def hostile_payloads(valid: bytes, marker: Path) -> dict[str, bytes | None]:
    """What may sit where a good file was (None: a folder; b'FIFO': a named pipe)."""
    rng = random.Random(len(valid))
    code = compile(f"open({str(marker)!r}, 'w').write('ran')", "planted", "exec")
    return {
        "pickle": pickle.dumps(_Planted(marker)),
        "marshal-code": marshal.dumps(code),
        "marshal-dict": marshal.dumps({(1, 2): code, "key": [code]}),
        "truncated": valid[: len(valid) // 2],
        "random": rng.randbytes(max(len(valid), 64)),
        "empty": b"",
        "deep-json": b"[" * 200_000 + b"]" * 200_000,
        "json-list": b"[1, 2, 3]",
        "json-text": b'"text"',
        "json-nan": b'{"version": NaN, "format": Infinity}',
        "bad-utf8": b'{"\xff\xfe": 1}',
        "folder": None,
        "fifo": b"FIFO",
    }


def plant(path: Path, payload: bytes | None) -> None:
    if path.is_dir():
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if payload is None:
        path.mkdir()
    elif payload == b"FIFO":
        os.mkfifo(path)
    else:
        path.write_bytes(payload)


PAYLOAD_NAMES = list(hostile_payloads(b"x", Path("m")))


# -- each cache file, read in this process ---------------------------------------------------


def _catalog_copy(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    from picker.catalog import builtcache
    from picker.catalog.loader import load_catalog_from, shipped_data_dir

    cache = home / "cache"
    fresh = load_catalog_from(shipped_data_dir(), cache_dir=cache)
    (path,) = cache.glob("catalog-copy-*.json")
    key = path.name[len("catalog-copy-"):-len(".json")]

    def reload() -> object:
        assert builtcache.read(cache, key) is None  # never the planted value
        return load_catalog_from(shipped_data_dir(), cache_dir=cache)

    return path, reload, lambda loaded: loaded == fresh


def _compute_replays(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    from picker.memory import compute_graph
    from picker.memory.estimate import shape_from_facts

    shape = shape_from_facts(architecture="llama", n_layer=8, n_embd=1024, n_head=16, n_head_kv=4,
                             n_vocab=32000, n_ctx_train=8192, file_size_bytes=300_000_000, n_ff=4096)

    def ask() -> int | None:
        compute_graph.forget()
        compute_graph._SAVED["loaded"] = False
        return compute_graph.graph_compute_bytes(shape, 4096, 0, 512, False, "f16", "f16")

    expected = ask()
    compute_graph._SAVED["added"] = True
    compute_graph.save_remembered()
    (path,) = (home / "cache").glob("compute-replays-*.json")
    return path, ask, lambda answer: answer == expected and expected is not None


def _history_digest(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    from picker.hardware.probe import probe_hardware
    from picker.history import History, ModelFile, machine_fingerprint
    from picker.history.summary import measured_speeds, summary_path

    database = home / "data" / "history.sqlite3"
    snapshot = probe_hardware()
    model = ModelFile(name="m.gguf", size_bytes=1, hub_repo="o/r", hub_filename="m.gguf",
                      hub_revision="main")
    History(database).record_run(kind="smoke", machine=machine_fingerprint(snapshot), model=model,
                                 settings={}, passed=True, reason=None,
                                 measurements={"generation_tokens_per_second": 12.5})
    expected = measured_speeds(database, snapshot)
    return summary_path(database), lambda: measured_speeds(database, snapshot), \
        lambda found: found == expected and bool(expected)


def _cpu_bandwidth(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    from picker.speed import cpu_bandwidth

    cpu_bandwidth.cpu_bandwidth()
    path = home / "cache" / cpu_bandwidth.CACHE_FILE_NAME
    return path, cpu_bandwidth.load_cached_bandwidth, lambda cached: cached is None


def _overlay(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    from picker.catalog.loader import load_catalog_from, shipped_data_dir
    from picker.catalog.overlay import apply_overlay, overlay_path, read_overlay, write_overlay

    catalog = load_catalog_from(shipped_data_dir())
    model = next(m for m in catalog.models if m.gguf is not None)
    assert model.gguf is not None
    quant = model.quantizations[0]
    write_overlay(home / "cache", {"models": {model.id: {"repo": model.gguf.repo, "quantizations": [
        {"quant": quant.type, "files": list(quant.files) or ["m.gguf"], "size_bytes": 12345,
         "sha256": ["ab" * 32]}]}}})
    assert apply_overlay(catalog, read_overlay(home / "cache")) != catalog  # the valid one is used
    return overlay_path(home / "cache"), lambda: apply_overlay(catalog, read_overlay(home / "cache")), \
        lambda applied: applied == catalog


def _part_state(home: Path) -> tuple[Path, Callable[[], object], Callable[[object], bool]]:
    import hashlib

    from picker.hub.hasher import Hasher

    part = home / "blob.part"
    data = os.urandom(100_003)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    state = part.with_name("blob.part.state")
    sha256 = hashlib.sha256(data).hexdigest()
    saver = Hasher(part, state, "cid", sha256, len(data), len(data))
    saver.finish()
    saver.save()  # the state after every byte of the .part
    resumed = Hasher(part, state, "cid", sha256, len(data), len(data))
    assert (resumed.restored_bytes, resumed.finish()) == (len(data), sha256)  # the valid one is used

    def resume() -> object:
        hasher = Hasher(part, state, "cid", sha256, len(data), len(data))
        return hasher.restored_bytes, hasher.finish()

    return state, resume, lambda outcome: outcome == (0, sha256)  # re-hashed from disk, right


READERS = {
    "catalog copy": _catalog_copy,
    "compute replays": _compute_replays,
    "history digest": _history_digest,
    "cpu bandwidth": _cpu_bandwidth,
    "refresh overlay": _overlay,
    ".part.state": _part_state,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_a_planted_or_damaged_cache_file_runs_nothing_and_is_worked_out_again(
        isolated_home: Path, reader: str) -> None:
    marker = isolated_home.parent / MARKER_NAME
    path, read_back, is_fallback = READERS[reader](isolated_home)
    valid = path.read_bytes()
    for name, payload in hostile_payloads(valid, marker).items():
        plant(path, payload)
        outcome = read_back()
        assert is_fallback(outcome), f"{reader} with a {name} file gave {outcome!r}"
        assert not marker.exists(), f"{reader}: the {name} file ran code"


def test_a_saved_hash_state_that_would_overrun_its_buffer_is_refused(isolated_home: Path) -> None:
    """The state goes into OpenSSL as raw memory: a `num` past the 64-byte block made the next
    update write outside it (a segfault). Field by field, each bad value is refused."""
    from picker.hub.hashing import new_sha256, saved_state_bytes, state_saving_available

    if not state_saving_available():
        pytest.skip("no OpenSSL state saving on this platform: no raw state is ever loaded")
    running = new_sha256()
    running.update(b"a" * 333)
    state = running.state()
    assert state is not None and saved_state_bytes(state) == 333
    # num (the bytes waiting in the block), md_len, and a bit count that disagrees with num
    for field, value in ((26, 200), (26, 2**30), (27, 64), (8, 333 * 8 + 1), (8, 334 * 8)):
        bad = bytearray(state)
        struct.pack_into("=I", bad, field * 4, value)
        assert saved_state_bytes(bytes(bad)) is None
        with pytest.raises(ValueError):
            new_sha256(bytes(bad))
    assert saved_state_bytes(state[:-1]) is None
    other_count = bytearray(state)  # a consistent context of another length: the offset check
    struct.pack_into("=I", other_count, 9 * 4, 7)  # in _load_state refuses it
    assert saved_state_bytes(bytes(other_count)) == (7 << 32) // 8 + 333


# -- shape confusion: valid JSON, wrong types anywhere --------------------------------------


def _mutations(document: Any, rng: random.Random) -> Any:
    """`document` with one node somewhere replaced by a value of another JSON type."""
    replacements = [None, True, 0, -1, 2**70, 1.5, float("inf"), "", "x" * 3, [], [1, "a"], {}, {"a": 1}]
    if isinstance(document, dict) and document and rng.random() < 0.8:
        key = rng.choice(list(document))
        return {**document, key: _mutations(document[key], rng)}
    if isinstance(document, list) and document and rng.random() < 0.8:
        index = rng.randrange(len(document))
        return [*document[:index], _mutations(document[index], rng), *document[index + 1:]]
    return rng.choice(replacements)


@pytest.mark.parametrize("reader", [name for name in READERS if name != "catalog copy"])
def test_json_of_the_wrong_shape_anywhere_is_ignored_not_fatal(isolated_home: Path, reader: str) -> None:
    path, read_back, _ = READERS[reader](isolated_home)
    valid = read_json(path)
    assert valid is not None
    rng = random.Random(f"shape-{reader}")
    for _ in range(150):
        plant(path, json.dumps(_mutations(valid, rng)).encode())
        read_back()  # any answer but an exception: a mutation may still be a valid file


def test_a_catalog_copy_of_the_wrong_shape_is_never_returned(isolated_home: Path) -> None:
    """Rebuilt record by record, a copy with any field of the wrong type is refused (even with
    a matching envelope, which only a deliberate edit would give)."""
    import zlib

    from picker.catalog import builtcache

    path, _, _ = _catalog_copy(isolated_home)
    key = path.name[len("catalog-copy-"):-len(".json")]
    first, _, payload = path.read_bytes().partition(b"\n")
    envelope = json.loads(first)
    valid = json.loads(payload)
    rng = random.Random("catalog-shape")
    refused = 0
    for _ in range(300):
        mutated = json.dumps(_mutations(valid, rng)).encode()
        envelope.update(crc32=zlib.crc32(mutated), bytes=len(mutated))
        plant(path, json.dumps(envelope).encode() + b"\n" + mutated)
        loaded = builtcache.read(isolated_home / "cache", key)
        refused += loaded is None
        if loaded is not None:  # the mutation kept every type (e.g. one int for another)
            assert type(loaded).__name__ == "Catalog"
    assert refused > 200
    plant(path, first + b"\n" + payload[:-1] + b" ")  # one byte changed: the checksum says so
    assert builtcache.read(isolated_home / "cache", key) is None


def test_the_reader_never_blocks_on_a_fifo_or_reads_a_huge_file(tmp_path: Path) -> None:
    from picker.cachefiles import read_bytes

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert read_bytes(fifo) is None
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    assert read_bytes(big, max_bytes=1000) is None
    assert read_bytes(big, max_bytes=1001) == b"x" * 1001
    assert read_bytes(tmp_path / "no\0name") is None


def test_cache_copies_from_before_are_removed_not_read(isolated_home: Path) -> None:
    """The pickled catalog copies and marshal'd replays of earlier versions are deleted when
    the new copies are written, and never read."""
    from picker.catalog.loader import load_catalog_from, shipped_data_dir

    marker = isolated_home.parent / MARKER_NAME
    cache = isolated_home / "cache"
    cache.mkdir(parents=True)
    old_catalog = cache / "catalog-0123abcd.pickle"
    old_replays = cache / "compute-replays-0123abcd.marshal"
    old_catalog.write_bytes(pickle.dumps(_Planted(marker)))
    old_replays.write_bytes(marshal.dumps(compile("open('x', 'w')", "planted", "exec")))
    _compute_replays(isolated_home)
    load_catalog_from(shipped_data_dir(), cache_dir=cache)
    assert not old_catalog.exists() and not old_replays.exists()
    assert not marker.exists()


# -- the whole program, with every file it keeps corrupted -----------------------------------


def _populate(home: Path) -> list[Path]:
    """Every file picker keeps in its cache and data folders, written by picker itself."""
    from picker.hub.storage import record_verified
    from tests.cli_helpers import run_picker

    first = run_picker("--json")
    assert first.returncode == 0, first.stderr
    _history_digest(home)
    _overlay(home)
    model_file = home.parent / "model.gguf"
    model_file.write_bytes(b"GGUF")
    record_verified(model_file, "ab" * 32)
    user_catalog = home / "data" / "catalog" / "added.toml"
    user_catalog.parent.mkdir(parents=True)
    user_catalog.write_text('family = "user"\ntitle = "Your additions"\nmodels = []\n')
    again = run_picker("--json")  # reads (and rewrites) with the history and overlay in place
    assert again.returncode == 0, again.stderr
    kept = sorted(path for path in home.rglob("*") if path.is_file())
    names = " ".join(path.name for path in kept)
    for expected in ("catalog-copy-", "compute-replays-", "cpu_bandwidth", "history.sqlite3",
                     "measured_speeds.json", "catalog-overlay.json", "added.toml"):
        assert expected in names, f"{expected} not written: {names}"
    assert (home / "cache" / "hub-verified").is_dir()
    return kept


@pytest.mark.parametrize("corruption", ["pickle", "marshal-code", "truncated", "random", "empty",
                                        "deep-json", "folder", "fifo"])
def test_picker_recommends_with_every_file_it_keeps_corrupted(isolated_home: Path, corruption: str) -> None:
    from tests.cli_helpers import run_picker

    marker = isolated_home.parent / MARKER_NAME
    for path in _populate(isolated_home):
        plant(path, hostile_payloads(path.read_bytes(), marker)[corruption])
    document = run_picker("--json")
    assert document.returncode == 0, document.stderr
    assert document.json()["recommendations"], document.stdout[:500]
    text = run_picker("recommend", "--limit", "3")
    assert text.returncode == 0 and " 1  " in text.stdout, text.stderr
    history = run_picker("history")
    assert history.returncode == 0 and "no measurements yet" in history.stdout, history.stderr
    for result in (document, text, history):
        assert "Traceback" not in result.stderr
        assert all(line.startswith("picker: warning: ") for line in result.stderr.splitlines())
    assert not marker.exists()


def test_the_files_picker_keeps_are_readable_by_their_owner_only(isolated_home: Path) -> None:
    kept = [path for path in _populate(isolated_home) if path.name != "added.toml"]  # the user's own
    assert len(kept) >= 8
    for path in kept:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


def test_damaged_catalog_additions_are_moved_aside_and_kept(isolated_home: Path) -> None:
    from tests.cli_helpers import run_picker

    additions = isolated_home / "data" / "catalog" / "added.toml"
    additions.parent.mkdir(parents=True)
    damaged = b"\xff\xfe not toml [[[" * 20
    additions.write_bytes(damaged)
    result = run_picker("catalog", "remove", "someone-elses-model")
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    warning, error = result.stderr.splitlines()
    assert warning.startswith("picker: warning: your catalog additions") and "moved to" in warning
    (aside,) = additions.parent.glob("added.toml.damaged-*")
    assert aside.read_bytes() == damaged and str(aside) in warning
    assert error.startswith("picker: error: 'someone-elses-model' is not one of your additions")
