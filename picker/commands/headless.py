"""`picker --json`: the headless result, everything the TUI's main screen shows."""

from __future__ import annotations

import argparse

from picker.output import CommandOutput


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.hardware.overrides import HardwareOverrides
    from picker.hardware.probe import probe_hardware
    from picker.hardware.render import render_snapshot

    snapshot = probe_hardware(HardwareOverrides.from_args(args))
    return CommandOutput(document={"hardware": snapshot.to_dict()}, text=render_snapshot(snapshot))
