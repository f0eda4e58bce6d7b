"""The what-if dialog: plan for other hardware (RAM, VRAM per GPU, unified memory)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from picker.errors import UsageError
from picker.hardware.overrides import HardwareOverrides, check_gpu_name
from picker.units import parse_size


def overrides_from_fields(ram: str, vram: str, gpu: str, unified: bool) -> HardwareOverrides:
    """Read the dialog's fields with the CLI's own parsing; raises UsageError naming the field."""
    ram_bytes = parse_size(ram, "RAM") if ram.strip() else None
    vram_bytes = tuple(parse_size(part, "VRAM") for part in vram.split(",")) if vram.strip() else ()
    if unified and ram_bytes is None:
        raise UsageError("RAM: unified memory needs the RAM size, e.g. 16G")
    if gpu.strip() and not vram_bytes and not unified:
        raise UsageError("VRAM: give the GPU's memory, e.g. 24G")
    if gpu.strip():
        check_gpu_name(gpu.strip())  # a name picker has no speed for is refused, with matches
    return HardwareOverrides(ram_bytes=ram_bytes, vram_bytes=vram_bytes,
                             gpu_name=gpu.strip() or None, unified_memory=unified)


class WhatIfScreen(ModalScreen[HardwareOverrides | None]):
    """Returns the overrides, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="what-if"):
            yield Label("Plan for other hardware (empty = this machine's value)")
            yield Label("RAM")
            yield Input(placeholder="e.g. 32G", id="ram", compact=True)
            yield Label("VRAM per GPU, comma-separated")
            yield Input(placeholder="e.g. 24G or 24G,24G", id="vram", compact=True)
            yield Label("GPU name")
            yield Input(placeholder="e.g. RTX 4090", id="gpu", compact=True)
            yield Checkbox("Unified memory (Apple Silicon)", id="unified", compact=True)
            yield Label("", id="what-if-error")
            with Horizontal(id="what-if-buttons"):
                yield Button("Plan", variant="primary", id="apply", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.apply()

    def on_input_submitted(self) -> None:
        self.apply()

    def apply(self) -> None:
        try:
            overrides = overrides_from_fields(
                self.query_one("#ram", Input).value, self.query_one("#vram", Input).value,
                self.query_one("#gpu", Input).value, self.query_one("#unified", Checkbox).value)
        except UsageError as error:
            self.query_one("#what-if-error", Label).update(error.message)
            return
        self.dismiss(overrides)

    def action_cancel(self) -> None:
        self.dismiss(None)
