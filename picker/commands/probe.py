"""`picker probe`: what this machine can give a model."""

from __future__ import annotations

import argparse
from typing import Any

from picker.commands import common
from picker.output import CommandOutput


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe", help="show CPU, RAM, disk and GPUs, with where each value came from",
        description="Read this machine's CPU, RAM, disk and GPUs. What cannot be read is "
        "reported in `warnings`; the probe never fails.")
    common.add_json_flag(parser)
    common.add_hardware_overrides(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.hardware.probe import probe_hardware
    from picker.hardware.render import render_snapshot

    snapshot = probe_hardware(common.hardware_overrides(args))
    return CommandOutput(document={"hardware": snapshot.to_dict()}, text=render_snapshot(snapshot))
