"""Compute-buffer answers kept in the cache dir between runs: used when valid, never trusted blindly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from picker.memory import compute_graph
from picker.memory.estimate import shape_from_facts
from picker.paths import picker_paths

SHAPE = shape_from_facts(architecture="llama", n_layer=16, n_embd=2048, n_head=32, n_head_kv=8,
                         n_vocab=128256, n_ctx_train=131072, file_size_bytes=800_000_000,
                         n_ff=8192)


def _ask(context: int) -> int | None:
    return compute_graph.graph_compute_bytes(SHAPE, context, 0, 512, False, "f16", "f16")


def _new_process() -> None:
    """What a fresh process starts with: nothing in memory, the file not read yet."""
    compute_graph.forget()
    compute_graph._SAVED["loaded"] = False


def _saved_files() -> list[Path]:
    return list(picker_paths().cache_dir.glob("compute-replays-*.json"))


def test_answers_are_kept_and_read_back_instead_of_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    _new_process()
    answers = {context: _ask(context) for context in (4096, 8192)}
    assert all(answers.values())
    compute_graph.save_remembered()
    assert len(_saved_files()) == 1
    _new_process()

    def no_replay(*_: object) -> int:
        raise AssertionError("replayed although the answer was kept")

    monkeypatch.setattr(compute_graph, "replay", no_replay)
    assert {context: _ask(context) for context in answers} == answers
    with pytest.raises(AssertionError):
        _ask(16384)  # never asked before: worked out


def test_an_unreadable_file_is_ignored_and_replaced() -> None:
    _new_process()
    expected = _ask(4096)
    compute_graph.save_remembered()
    (saved,) = _saved_files()
    saved.write_bytes(b"\x00not json")
    _new_process()
    assert _ask(4096) == expected
    compute_graph.save_remembered()
    (again,) = _saved_files()
    assert again.read_bytes() != b"\x00not json"


def test_nothing_new_writes_nothing() -> None:
    _new_process()
    _ask(4096)
    compute_graph.save_remembered()
    (saved,) = _saved_files()
    written = saved.stat().st_mtime_ns
    _new_process()
    _ask(4096)
    compute_graph.save_remembered()
    assert saved.stat().st_mtime_ns == written


def test_another_installs_answers_are_kept_beside_these() -> None:
    folder = picker_paths().cache_dir
    folder.mkdir(parents=True, exist_ok=True)
    others = [folder / f"compute-replays-{n:08x}.json" for n in range(5)]
    for age, other in enumerate(reversed(others)):  # the last one written is the newest
        other.write_bytes(b"{}")
        os.utime(other, ns=(0, 10**18 - age * 10**9))
    _new_process()
    _ask(4096)
    compute_graph.save_remembered()
    kept = {path.name for path in _saved_files()}
    assert len(kept) == 4 and {path.name for path in others[-3:]} <= kept


@pytest.mark.parametrize("planted", [0.5, None, [True], {"x": 1}])
def test_an_entry_whose_key_holds_anything_but_text_numbers_and_flags_is_ignored(
        planted: object) -> None:
    import json

    _new_process()
    expected = _ask(4096)
    compute_graph.save_remembered()
    (saved,) = _saved_files()
    (entry,) = json.loads(saved.read_bytes())
    tampered = [[*entry[0][:-1], [*entry[0][-1], planted]], 1]  # a planted flag, a false answer
    honest_but_false = [entry[0], 1]
    entry_list = [tampered, [entry[0], entry[1]]]
    saved.write_text(json.dumps(entry_list))
    _new_process()
    assert _ask(4096) == expected  # the honest entry is read; the planted one is not
    assert not any(value == 1 for value in compute_graph._MEMO.values())
    saved.write_text(json.dumps([honest_but_false]))
    _new_process()
    assert _ask(4096) == 1  # the check lets a plain entry through (the test can fail)
