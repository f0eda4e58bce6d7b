"""A JSON digest of the measured speeds, so the ranking needs neither SQLite nor hashlib.

`picker --json` only wants this machine's measured speeds, but loading sqlite3
(~21 M instructions) and hashlib (~12 M) to get them would cost a tenth of the
whole run. The database stays the record; this file, next to it, is derived from
it: rewritten after every recorded run, and trusted only while the database has
the size and modification time it was made from. Missing, stale or unreadable,
it is made again from the database. Machines are found by their canonical fields
(`fingerprint.canonical_fields`), so no hash is computed to look one up.
"""

import json
from pathlib import Path
from typing import Any, NamedTuple

from picker.cachefiles import read_json, write_whole
from picker.hardware.model import HardwareSnapshot
from picker.history.fingerprint import MachineFingerprint, canonical_fields, machine_fingerprint

SUMMARY_NAME = "measured_speeds.json"
FORMAT_VERSION = 1
_SEPARATOR = "\u0000"  # between hub repo, file name and settings key in a speed's key


class SpeedSummary(NamedTuple):
    """One model file with one set of settings on one machine (see store.MeasuredSpeed)."""

    generation_tokens_per_second: float
    prompt_tokens_per_second: float | None
    runs: int


def summary_path(database: Path) -> Path:
    return database.with_name(SUMMARY_NAME)


def _stamp(database: Path) -> list[int] | None:
    try:
        stat = database.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _read(database: Path, current_only: bool = True) -> dict[str, Any] | None:
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


def write_summary(database: Path, machine: MachineFingerprint | None = None,
                  notices: list[str] | None = None) -> dict[str, Any]:
    """Make the digest from the database (remembering `machine`'s canonical fields) and store
    it; returns it even when it cannot be stored. A damaged database is set aside (store.History),
    with a line in `notices`."""
    from picker.history.store import History

    # Stamped before reading: a run recorded meanwhile makes this copy stale, never wrong.
    stamp = _stamp(database)
    previous = _read(database, current_only=False)
    fingerprints: dict[str, str] = {
        canonical: fingerprint for canonical, fingerprint in previous["fingerprints"].items()
        if isinstance(fingerprint, str)} if previous else {}
    if machine is not None and machine.canonical:
        fingerprints[machine.canonical] = machine.fingerprint
    speeds = {
        fingerprint: {_SEPARATOR.join(key): [found.generation_tokens_per_second,
                                             found.prompt_tokens_per_second, found.runs]
                      for key, found in by_key.items()}
        for fingerprint, by_key in History(database, notices).measured_speeds_by_machine().items()
    }
    summary = {"version": FORMAT_VERSION, "database": stamp, "fingerprints": fingerprints,
               "speeds": speeds}
    write_whole(summary_path(database), json.dumps(summary).encode())
    return summary


def measured_speeds(database: Path, snapshot: HardwareSnapshot, notices: list[str] | None = None
                    ) -> dict[tuple[str, str, str], SpeedSummary]:
    """This machine's measured speeds by (hub_repo, hub_filename, settings_key)."""
    canonical = canonical_fields(snapshot)
    summary = _read(database)
    fingerprint = summary["fingerprints"].get(canonical) if summary else None
    if summary is None or not isinstance(fingerprint, str):
        machine = machine_fingerprint(snapshot)
        summary, fingerprint = write_summary(database, machine, notices), machine.fingerprint
    speeds = summary["speeds"].get(fingerprint)
    found: dict[tuple[str, str, str], SpeedSummary] = {}
    for key, value in speeds.items() if isinstance(speeds, dict) else ():
        parts = key.split(_SEPARATOR)
        if len(parts) == 3 and _is_speed(value):
            found[(parts[0], parts[1], parts[2])] = SpeedSummary(*value)
    return found


def _is_rate(value: object) -> bool:
    return type(value) in (int, float) and 0 < value < float("inf")  # type: ignore[operator]


def _is_speed(value: object) -> bool:
    """[generation tokens/s, prompt tokens/s or null, runs], as write_summary stores it."""
    return (type(value) is list and len(value) == 3 and _is_rate(value[0])
            and (value[1] is None or _is_rate(value[1])) and type(value[2]) is int and value[2] > 0)
