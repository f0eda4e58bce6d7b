"""picker.hardware.osname agrees with `platform`, and the CPU bandwidth cache check with machine_key."""

from __future__ import annotations

import os
import platform

from picker.hardware import osname
from picker.speed.cpu_bandwidth import is_this_machine, machine_key


def test_osname_matches_platform() -> None:
    assert osname.system() == platform.system()
    assert osname.release() == platform.release()
    assert osname.node() == platform.node()
    assert osname.machine() == platform.machine()


def test_this_machines_key_is_accepted_and_others_are_not() -> None:
    key = machine_key()
    assert is_this_machine(key)
    node, machine, processor, count = key.split("|")
    assert is_this_machine(f"{node}|{machine}|another processor name|{count}")
    assert not is_this_machine(f"another-host|{machine}|{processor}|{count}")
    assert not is_this_machine(f"{node}|another-arch|{processor}|{count}")
    assert not is_this_machine(f"{node}|{machine}|{processor}|{(os.cpu_count() or 1) + 1}")
    assert not is_this_machine("someone-else")
