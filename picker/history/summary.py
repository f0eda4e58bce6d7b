"""This machine's measured speeds for the ranking, from a JSON digest of the database.

`picker --json` only wants this machine's measured speeds, but loading sqlite3
(~21 M instructions) and hashlib (~12 M) to get them would cost a tenth of the
whole run. The database stays the record; the digest (`digest.py`), next to it, is
derived from it: rewritten after every recorded run, and trusted only while the database
has the size and modification time it was made from. Missing, stale or unreadable,
it is made again from the database. Machines are found by their canonical fields
(`fingerprint.canonical_fields`), so no hash is computed to look one up.
"""

from pathlib import Path
from typing import Any

from picker.hardware.model import HardwareSnapshot
from picker.history.digest import SEPARATOR, SpeedSummary, read_digest, summary_path, write_digest
from picker.history.fingerprint import MachineFingerprint, canonical_fields, machine_fingerprint

__all__ = ["SpeedSummary", "measured_speeds", "summary_path"]


def _remade(database: Path, machine: MachineFingerprint, notices: list[str] | None
            ) -> dict[str, Any]:
    """The digest made again from the database. A damaged database is set aside
    (store.History), with a line in `notices`."""
    from picker.history.store import History  # sqlite3: only when the digest is stale

    return write_digest(database, History(database, notices).measured_speeds_by_machine, machine)


def measured_speeds(database: Path, snapshot: HardwareSnapshot, notices: list[str] | None = None
                    ) -> dict[tuple[str, str, str], SpeedSummary]:
    """This machine's measured speeds by (hub_repo, hub_filename, settings_key)."""
    canonical = canonical_fields(snapshot)
    summary = read_digest(database)
    fingerprint = summary["fingerprints"].get(canonical) if summary else None
    if summary is None or not isinstance(fingerprint, str):
        machine = machine_fingerprint(snapshot)
        summary, fingerprint = _remade(database, machine, notices), machine.fingerprint
    speeds = summary["speeds"].get(fingerprint)
    found: dict[tuple[str, str, str], SpeedSummary] = {}
    for key, value in speeds.items() if isinstance(speeds, dict) else ():
        parts = key.split(SEPARATOR)
        if len(parts) == 3 and _is_speed(value):
            found[(parts[0], parts[1], parts[2])] = SpeedSummary(*value)
    return found


def _is_rate(value: object) -> bool:
    return type(value) in (int, float) and 0 < value < float("inf")  # type: ignore[operator]


def _is_speed(value: object) -> bool:
    """[generation tokens/s, prompt tokens/s or null, runs], as write_summary stores it."""
    return (type(value) is list and len(value) == 3 and _is_rate(value[0])
            and (value[1] is None or _is_rate(value[1])) and type(value[2]) is int and value[2] > 0)
