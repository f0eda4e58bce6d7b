"""The Textual face of picker. Only this package may import textual."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picker.tui.app import PickerApp


def new_app(args: argparse.Namespace) -> PickerApp:
    """The app, its first screen already being worked out by a child process
    (picker/tui/head_start.py): forked before Textual is imported, whose import is the
    time the child has."""
    import gc

    # Imports make objects that live as long as the process: the collector's passes over them
    # cost ~12 ms of the ~150 ms Textual takes to import. The app's on_mount turns it back
    # on (after gc.freeze); the child ranks with it off, for the one ranking it lives for.
    gc.disable()
    from picker.commands.common import hardware_overrides
    from picker.tui.data import Query
    from picker.tui.head_start import start

    head_start = start(Query(overrides=hardware_overrides(args)))
    try:
        from picker.tui.app import PickerApp

        return PickerApp(args, head_start)
    except BaseException:
        if head_start is not None:
            head_start.close()
        gc.enable()
        raise


def launch(args: argparse.Namespace) -> int:
    """Run the app; returns the exit code."""
    import gc

    app = new_app(args)
    try:
        app.run()
    finally:
        gc.enable()  # had the app failed before its on_mount
        if app.head_start is not None:  # the app ended before the child answered
            app.head_start.close()
    return int(app.return_code or 0)
