"""What was measured on this machine: smoke tests and chat speeds, kept in SQLite.

The ranking reads this machine's measured speeds through `summary.measured_speeds`,
a JSON digest of the database. The names below load their module (and, for the
store, sqlite3) only when first used, so that digest can be read without them.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picker.history.fingerprint import MachineFingerprint, ModelFile, machine_fingerprint
    from picker.history.store import History, MeasuredSpeed, RunRecord

__all__ = [
    "History", "MachineFingerprint", "MeasuredSpeed", "ModelFile", "RunRecord",
    "machine_fingerprint",
]


def __getattr__(name: str) -> object:
    if name in ("MachineFingerprint", "ModelFile", "machine_fingerprint"):
        from picker.history import fingerprint

        return getattr(fingerprint, name)
    if name in ("History", "MeasuredSpeed", "RunRecord"):
        from picker.history import store

        return getattr(store, name)
    raise AttributeError(f"module 'picker.history' has no attribute {name!r}")
