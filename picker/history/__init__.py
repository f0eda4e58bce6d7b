"""What was measured on this machine: smoke tests and chat speeds, kept in SQLite.

The ranking reads this machine's measured speeds through `summary.measured_speeds`,
a JSON digest of the database. The names below load their module (and, for the
store, sqlite3) only when first used, so that digest can be read without them.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picker.history.fingerprint import MachineFingerprint, ModelFile, machine_fingerprint
    from picker.history.store import History, MeasuredSpeed, RunRecord

_HOMES = {
    "MachineFingerprint": "fingerprint", "ModelFile": "fingerprint",
    "machine_fingerprint": "fingerprint",
    "History": "store", "MeasuredSpeed": "store", "RunRecord": "store",
}

__all__ = [
    "History", "MachineFingerprint", "MeasuredSpeed", "ModelFile", "RunRecord",
    "machine_fingerprint",
]


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'picker.history' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"picker.history.{_HOMES[name]}"), name)
