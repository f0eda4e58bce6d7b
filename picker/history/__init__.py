"""What was measured on this machine: smoke tests and chat speeds, kept in SQLite.

The ranking calls `History.open().measured_speed(machine_fingerprint(snapshot), ...)`
to replace its speed estimate with a measurement.
"""

from picker.history.fingerprint import MachineFingerprint, ModelFile, machine_fingerprint
from picker.history.store import History, MeasuredSpeed, RunRecord

__all__ = [
    "History", "MachineFingerprint", "MeasuredSpeed", "ModelFile", "RunRecord",
    "machine_fingerprint",
]
