"""What was measured on this machine: smoke tests and chat speeds, kept in SQLite.

The ranking reads `History(path).measured_speeds(machine_fingerprint(snapshot))` once
to replace its speed estimates with measurements.
"""

from picker.history.fingerprint import MachineFingerprint, ModelFile, machine_fingerprint
from picker.history.store import History, MeasuredSpeed, RunRecord

__all__ = [
    "History", "MachineFingerprint", "MeasuredSpeed", "ModelFile", "RunRecord",
    "machine_fingerprint",
]
