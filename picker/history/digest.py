"""The measured-speed digest's file: a JSON copy of the database's speeds, per machine.

Written by `store.History.record_run` after every run and by `summary.measured_speeds` when
it is stale; read by `summary`. Stamped with the database's size and modification time, it
is trusted only while the database still has them. Neither sqlite3 nor hashlib is needed
here (see `picker.history.summary` for why that matters).
"""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from picker.cachefiles import read_json, write_whole
from picker.history.fingerprint import MachineFingerprint

SUMMARY_NAME = "measured_speeds.json"
FORMAT_VERSION = 1
SEPARATOR = "\u0000"  # between hub repo, file name and settings key in a speed's key


class SpeedSummary(NamedTuple):
    """One model file with one set of settings on one machine (see store.MeasuredSpeed)."""

    generation_tokens_per_second: float
    prompt_tokens_per_second: float | None
    runs: int


class _Speed(Protocol):
    """What the digest keeps of a measured speed (store.MeasuredSpeed has it)."""

    @property
    def generation_tokens_per_second(self) -> float: ...
    @property
    def prompt_tokens_per_second(self) -> float | None: ...
    @property
    def runs(self) -> int: ...


# Every machine's speeds by (hub_repo, hub_filename, settings_key), as the database has them.
SpeedsByMachine = Mapping[str, Mapping[tuple[str, str, str], _Speed]]


def summary_path(database: Path) -> Path:
    return database.with_name(SUMMARY_NAME)


def _stamp(database: Path) -> list[int] | None:
    try:
        stat = database.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def read_digest(database: Path, current_only: bool = True) -> dict[str, Any] | None:
    """The digest, if it was made from the database as it is now (or, with `current_only`
    False, whatever its stamp: then only its remembered fingerprints are reused). A damaged
    one reads as None and is made again."""
    summary = read_json(summary_path(database))
    if not isinstance(summary, dict) or not isinstance(summary.get("fingerprints"), dict):
        return None
    if current_only and (summary.get("version") != FORMAT_VERSION
                         or summary.get("database") != _stamp(database)
                         or not isinstance(summary.get("speeds"), dict)):
        return None
    return summary


def write_digest(database: Path, read_speeds: Callable[[], SpeedsByMachine],
                 machine: MachineFingerprint | None = None) -> dict[str, object]:
    """Make the digest from `read_speeds()` (the database's speeds), remembering `machine`'s
    canonical fields, and store it; returns it even when it cannot be stored."""
    # Stamped before reading: a run recorded meanwhile makes this copy stale, never wrong.
    stamp = _stamp(database)
    previous = read_digest(database, current_only=False)
    fingerprints: dict[str, str] = {
        canonical: fingerprint for canonical, fingerprint in previous["fingerprints"].items()
        if isinstance(fingerprint, str)} if previous else {}
    if machine is not None and machine.canonical:
        fingerprints[machine.canonical] = machine.fingerprint
    speeds = {
        fingerprint: {SEPARATOR.join(key): [found.generation_tokens_per_second,
                                            found.prompt_tokens_per_second, found.runs]
                      for key, found in by_key.items()}
        for fingerprint, by_key in read_speeds().items()
    }
    summary: dict[str, object] = {"version": FORMAT_VERSION, "database": stamp,
                                  "fingerprints": fingerprints, "speeds": speeds}
    write_whole(summary_path(database), json.dumps(summary).encode())
    return summary
