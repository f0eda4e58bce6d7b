"""The Textual face of picker. Only this package may import textual."""

from __future__ import annotations

import argparse


def launch(args: argparse.Namespace) -> int:
    """Run the app; returns the exit code."""
    from picker.tui.app import PickerApp

    app = PickerApp(args)
    app.run()
    return int(app.return_code or 0)
