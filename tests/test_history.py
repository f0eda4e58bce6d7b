"""The measurement history: fingerprints, runs written and read back, the ranking's lookup."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.history import History, ModelFile, machine_fingerprint
from picker.history.fingerprint import sha256_from_hub_cache

GIB = 1024**3
SETTINGS = {"n_ctx": 4096, "n_gpu_layers": 0, "n_ubatch": 512, "flash_attn": False,
            "type_k": "f16", "type_v": "f16", "n_threads": 4, "n_batch": 512}


def snapshot(ram_bytes: int = 32 * GIB, gpus: tuple[GpuInfo, ...] = ()) -> HardwareSnapshot:
    return HardwareSnapshot(
        cpu=CpuInfo(name="Test CPU 9000", architecture="x86_64", physical_cores=8,
                    logical_cores=16, features=("AVX2",)),
        memory=MemoryInfo(total_bytes=ram_bytes, available_bytes=ram_bytes // 2,
                          swap_total_bytes=0, swap_free_bytes=0),
        disk=None, gpus=gpus, os="Linux 6.1.0",
    )


RTX = GpuInfo(index=0, vendor="nvidia", name="NVIDIA GeForce RTX 4090",
              memory_kind="dedicated", total_bytes=24 * GIB, free_bytes=20 * GIB)
MODEL = ModelFile(name="m.gguf", size_bytes=1000, sha256="ab" * 32, hub_repo="org/repo",
                  hub_filename="m.gguf", hub_revision="c0ffee")


def test_the_fingerprint_is_stable_and_tells_machines_apart() -> None:
    base = machine_fingerprint(snapshot())
    assert machine_fingerprint(snapshot()) == base
    # Free memory and a few MiB of MemTotal between kernels do not make a new machine.
    assert machine_fingerprint(snapshot(ram_bytes=32 * GIB - 3 * 1024**2)).fingerprint == base.fingerprint
    moved = snapshot()._replace(os="Linux 6.8.0")
    assert machine_fingerprint(moved).fingerprint == base.fingerprint
    with_gpu = machine_fingerprint(snapshot(gpus=(RTX,)))
    assert with_gpu.fingerprint != base.fingerprint
    assert "RTX 4090 (24.0 GiB)" in with_gpu.describe()
    assert machine_fingerprint(snapshot(ram_bytes=64 * GIB)).fingerprint != base.fingerprint


def test_runs_are_written_and_read_back(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    machine = machine_fingerprint(snapshot())
    first = history.record_run(kind="smoke", machine=machine, model=MODEL, settings=SETTINGS,
                               passed=True, reason=None,
                               measurements={"generation_tokens_per_second": 50.0,
                                             "prompt_tokens_per_second": 400.0,
                                             "error_pct": 1.5, "generated_tokens": 32})
    second = history.record_run(kind="smoke", machine=machine, model=MODEL, settings=SETTINGS,
                                passed=False, reason="not enough memory", measurements={})
    runs = history.runs()
    assert [run.id for run in runs] == [second, first]
    assert runs[0].passed is False and runs[0].reason == "not enough memory"
    back = runs[1]
    assert back.model == MODEL
    assert back.settings == SETTINGS
    assert back.measurements["generation_tokens_per_second"] == 50.0
    assert back.measurements["generated_tokens"] == 32  # kept in the details
    assert back.machine_fingerprint == machine.fingerprint
    assert back.to_dict()["created_at"].endswith("Z")
    assert len(history.runs(limit=1)) == 1


def test_measured_speed_is_the_median_of_recent_passed_runs(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    machine = machine_fingerprint(snapshot())
    other_machine = machine_fingerprint(snapshot(gpus=(RTX,)))
    for rate in (40.0, 60.0, 50.0):
        history.record_run(kind="smoke", machine=machine, model=MODEL, settings=SETTINGS,
                           passed=True, reason=None,
                           measurements={"generation_tokens_per_second": rate})
    history.record_run(kind="smoke", machine=machine, model=MODEL, settings=SETTINGS,
                       passed=False, reason="x", measurements={"generation_tokens_per_second": 1.0})
    history.record_run(kind="smoke", machine=other_machine, model=MODEL, settings=SETTINGS,
                       passed=True, reason=None,
                       measurements={"generation_tokens_per_second": 900.0})
    history.record_run(kind="chat", machine=machine, model=MODEL, settings=SETTINGS,
                       passed=True, reason=None,
                       measurements={"generation_tokens_per_second": 5.0})
    measured = history.measured_speed(machine, sha256=MODEL.sha256, settings=SETTINGS)
    assert measured is not None
    assert measured.generation_tokens_per_second == 50.0
    assert measured.runs == 3
    by_hub = history.measured_speed(machine, hub_repo="org/repo", hub_filename="m.gguf")
    assert by_hub is not None and by_hub.generation_tokens_per_second == 50.0
    assert by_hub.settings == SETTINGS
    # The seed and other settings that do not change speed do not split the history.
    assert history.measured_speed(machine, sha256=MODEL.sha256,
                                  settings={**SETTINGS, "seed": 7}) is not None
    assert history.measured_speed(machine, sha256=MODEL.sha256,
                                  settings={**SETTINGS, "n_ctx": 8192}) is None
    assert history.measured_speed(machine, sha256="cd" * 32) is None
    with pytest.raises(ValueError):
        history.measured_speed(machine)
    # The ranking's one-query form agrees, and keeps other machines, chats and failures out.
    from picker.history.fingerprint import settings_key

    everything = history.measured_speeds(machine)
    assert list(everything) == [("org/repo", "m.gguf", settings_key(SETTINGS))]
    assert everything[("org/repo", "m.gguf", settings_key(SETTINGS))] == measured
    assert history.measured_speeds(other_machine)[
        ("org/repo", "m.gguf", settings_key(SETTINGS))].generation_tokens_per_second == 900.0


def test_measured_speeds_groups_by_file_and_settings(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    machine = machine_fingerprint(snapshot())
    other_file = MODEL._replace(sha256="cd" * 32, hub_filename="n.gguf", name="n.gguf")
    wider = {**SETTINGS, "n_ctx": 8192}
    runs = ((MODEL, SETTINGS, 10.0), (MODEL, SETTINGS, 20.0), (MODEL, wider, 7.0),
            (other_file, SETTINGS, 30.0), (MODEL, SETTINGS, 40.0), (MODEL, SETTINGS, 90.0))
    for model, settings, rate in runs:
        history.record_run(kind="smoke", machine=machine, model=model, settings=settings,
                           passed=True, reason=None,
                           measurements={"generation_tokens_per_second": rate})
    from picker.history.fingerprint import settings_key

    found = history.measured_speeds(machine)
    assert found[("org/repo", "m.gguf", settings_key(SETTINGS))].generation_tokens_per_second == 30.0
    assert found[("org/repo", "m.gguf", settings_key(SETTINGS))].runs == 4
    assert found[("org/repo", "m.gguf", settings_key(wider))].generation_tokens_per_second == 7.0
    assert found[("org/repo", "n.gguf", settings_key(SETTINGS))].generation_tokens_per_second == 30.0
    assert len(found) == 3


def test_a_files_sha256_is_remembered_until_it_changes(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    path = tmp_path / "model.gguf"
    path.write_bytes(b"first")
    assert history.sha256_of(path) == hashlib.sha256(b"first").hexdigest()
    path.write_bytes(b"second!")
    os.utime(path, ns=(1, 1))
    assert history.sha256_of(path) == hashlib.sha256(b"second!").hexdigest()


def test_a_hub_cache_file_names_its_sha256(tmp_path: Path) -> None:
    digest = "0f" * 32
    blob = tmp_path / "models--o--r" / "blobs" / digest
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"x")
    link = tmp_path / "models--o--r" / "snapshots" / "abc" / "m.gguf"
    link.parent.mkdir(parents=True)
    link.symlink_to(blob)
    assert sha256_from_hub_cache(link) == digest
    plain = tmp_path / "m.gguf"
    plain.write_bytes(b"x")
    assert sha256_from_hub_cache(plain) is None


def _recorded_database(path: Path) -> bytes:
    history = History(path)
    for _ in range(30):
        history.record_run(kind="smoke", machine=machine_fingerprint(snapshot()), model=MODEL,
                           settings=SETTINGS, passed=True, reason=None,
                           measurements={"generation_tokens_per_second": 10.0})
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "header only", "a folder"])
def test_a_damaged_database_is_moved_aside_and_a_fresh_one_started(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "h.sqlite3"
    good = _recorded_database(path)
    assert len(good) > 8192
    if damage == "a folder":
        path.unlink()
        path.mkdir()
        (path / "inside").write_bytes(b"kept")
    else:
        path.write_bytes({"garbage": b"this is not sqlite" * 100, "truncated": good[: len(good) // 2],
                          "header only": good[:100]}[damage])
    before = sorted(p.name for p in tmp_path.iterdir())
    history = History(path)
    assert history.runs() == []
    (notice,) = history.notices
    (aside,) = [p for p in tmp_path.iterdir() if p.name not in before]
    assert aside.name.startswith("h.sqlite3.damaged-") and str(aside) in notice and "\n" not in notice
    if damage == "a folder":
        assert (aside / "inside").read_bytes() == b"kept"
    else:
        assert aside.read_bytes() != b"" and path.stat().st_mode & 0o077 == 0  # fresh, owner-only
    history.record_run(kind="smoke", machine=machine_fingerprint(snapshot()), model=MODEL,
                       settings=SETTINGS, passed=True, reason=None, measurements={})
    assert len(History(path).runs()) == 1


def test_a_damaged_row_is_left_out_not_fatal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "h.sqlite3"
    _recorded_database(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET details_json = '{not json', settings_json = '[1' WHERE id = 1")
        db.execute("UPDATE runs SET created_at = 'yesterday' WHERE id = 2")
    runs = History(path).runs()
    assert len(runs) == 29 and {run.id for run in runs} == set(range(1, 31)) - {2}
    assert next(run for run in runs if run.id == 1).settings == {}


def test_the_latest_smoke_run_of_a_file_for_the_fit_engine(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    machine = machine_fingerprint(snapshot())
    for error in (3.0, -1.0):
        history.record_run(kind="smoke", machine=machine, model=MODEL, settings=SETTINGS,
                           passed=True, reason=None,
                           measurements={"estimated_bytes": 100, "measured_bytes": 99,
                                         "error_pct": error})
    history.record_run(kind="chat", machine=machine, model=MODEL, settings=SETTINGS,
                       passed=True, reason=None, measurements={})
    latest = history.latest_run(machine, sha256=MODEL.sha256 or "", settings=SETTINGS)
    assert latest is not None and latest.measurements["error_pct"] == -1.0
    assert history.latest_run(machine, sha256=MODEL.sha256 or "",
                              settings={**SETTINGS, "n_ctx": 512}) is None
    assert history.latest_run(machine_fingerprint(snapshot(gpus=(RTX,))),
                              sha256=MODEL.sha256 or "") is None


def _speeds_by_sqlite(history: History, machine_snapshot: HardwareSnapshot) -> dict[Any, Any]:
    measured = history.measured_speeds(machine_fingerprint(machine_snapshot))
    return {key: (found.generation_tokens_per_second, found.prompt_tokens_per_second, found.runs)
            for key, found in measured.items()}


def test_the_rankings_digest_agrees_with_the_database(tmp_path: Path) -> None:
    from picker.history import summary

    database = tmp_path / "h.sqlite3"
    history = History(database)
    here, there = snapshot(), snapshot(gpus=(RTX,))
    for machine_snapshot, rate in ((here, 10.0), (here, 30.0), (there, 99.0)):
        history.record_run(kind="smoke", machine=machine_fingerprint(machine_snapshot), model=MODEL,
                           settings=SETTINGS, passed=True, reason=None,
                           measurements={"generation_tokens_per_second": rate,
                                         "prompt_tokens_per_second": 100.0})
    assert summary.summary_path(database).exists()  # written with the runs
    for machine_snapshot in (here, there):
        digest = summary.measured_speeds(database, machine_snapshot)
        got = {key: tuple(found) for key, found in digest.items()}
        assert got == _speeds_by_sqlite(history, machine_snapshot)
        assert got  # something was measured on both
    # Another write to the database (a file hash remembered) makes the digest stale: it is
    # made again, with the same answer.
    model_path = tmp_path / "m.gguf"
    model_path.write_bytes(b"weights")
    history.sha256_of(model_path)
    before = summary.summary_path(database).read_text()
    assert tuple(summary.measured_speeds(database, here)[("org/repo", "m.gguf", _key())]) == (20.0, 100.0, 2)
    assert summary.summary_path(database).read_text() != before
    # Unreadable, or from a machine it never saw: the database answers.
    summary.summary_path(database).write_text("{broken")
    assert {k: tuple(v) for k, v in summary.measured_speeds(database, there).items()} == \
        _speeds_by_sqlite(history, there)
    stranger = snapshot(ram_bytes=64 * GIB)
    assert summary.measured_speeds(database, stranger) == {}


def _key() -> str:
    from picker.history.fingerprint import settings_key

    return settings_key(SETTINGS)


def test_picker_json_with_a_history_loads_neither_sqlite_nor_hashlib(tmp_path: Path) -> None:
    import subprocess
    import sys

    from picker.hardware.probe import probe_hardware

    home = tmp_path / "home"
    database = home / "data" / "history.sqlite3"
    database.parent.mkdir(parents=True)
    History(database).record_run(kind="smoke", machine=machine_fingerprint(probe_hardware()),
                                 model=MODEL, settings=SETTINGS, passed=True, reason=None,
                                 measurements={"generation_tokens_per_second": 12.0})
    script = ("import contextlib, io, sys\n"
              "from picker.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    main(['--json'])\n"
              "print(sorted(m for m in sys.modules if m in ('sqlite3', 'hashlib', '_hashlib')))\n")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env={**os.environ, "PICKER_HOME": str(home)}, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
