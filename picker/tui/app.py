"""The picker app (placeholder main screen until the TUI issue lands): the probe, then quit."""

from __future__ import annotations

import argparse

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from picker.hardware.model import HardwareSnapshot


class PickerApp(App[int]):
    TITLE = "picker"
    SUB_TITLE = "which local LLMs run well on this machine"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("r", "refresh_probe", "Refresh probe")]

    def __init__(self, args: argparse.Namespace | None = None) -> None:
        super().__init__()
        self.args = args or argparse.Namespace()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading this machine...", id="hardware")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh_probe()

    def action_refresh_probe(self) -> None:
        self.query_one("#hardware", Static).update("Reading this machine...")
        self._probe()

    @work(thread=True, exclusive=True)
    def _probe(self) -> None:
        from picker.hardware.overrides import HardwareOverrides
        from picker.hardware.probe import probe_hardware

        snapshot = probe_hardware(HardwareOverrides.from_args(self.args))
        self.call_from_thread(self._show, snapshot)

    def _show(self, snapshot: HardwareSnapshot) -> None:
        from picker.hardware.render import render_snapshot

        self.query_one("#hardware", Static).update(render_snapshot(snapshot))
