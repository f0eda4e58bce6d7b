"""`picker --json`: the headless result, everything the TUI's main screen shows.

The same document as `picker recommend --json` with every default (the use case,
its context, the speed floor): the probe (`hardware`), the settings used
(`settings`) and the ranked `recommendations`.
"""

from __future__ import annotations

import argparse

from picker.output import CommandOutput


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.commands.common import rank_request
    from picker.rank.request import build

    document, text, warnings = build(rank_request(args))
    return CommandOutput(document=document, text=text, warnings=warnings)
