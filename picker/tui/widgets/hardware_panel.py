"""The hardware panel: CPU, RAM, each GPU with free/total memory, and probe warnings."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from picker.hardware.model import HardwareSnapshot
from picker.units import format_size


def hardware_text(snapshot: HardwareSnapshot) -> Text:
    cpu, memory = snapshot.cpu, snapshot.memory
    text = Text()
    text.append("CPU ", style="bold")
    text.append(f"{cpu.name or 'unknown'} · {cpu.physical_cores or '?'}c/{cpu.logical_cores or '?'}t "
                f"· {', '.join(cpu.features) or 'features n/a'}\n")
    text.append("RAM ", style="bold")
    text.append(f"{format_size(memory.available_bytes)} free of {format_size(memory.total_bytes)}")
    if snapshot.disk is not None:
        text.append(f" · disk {format_size(snapshot.disk.free_bytes)} free")
    text.append("\n")
    if not snapshot.gpus:
        text.append("GPU ", style="bold")
        text.append("none: models run on the CPU\n")
    for gpu in snapshot.gpus:
        kind = {"dedicated": "VRAM", "unified": "unified", "shared": "shared RAM"}[gpu.memory_kind]
        text.append(f"GPU{gpu.index} ", style="bold")
        text.append(f"{gpu.name or 'unknown'} · {format_size(gpu.free_bytes)} free of "
                    f"{format_size(gpu.total_bytes)} {kind}\n")
    if snapshot.overridden:
        text.append("What-if: ", style="bold yellow")
        text.append(f"{', '.join(snapshot.overridden)} (W to change, Ctrl+W for this machine)\n")
    other_warnings = [w for w in snapshot.warnings if "no GPU found" not in w]
    if other_warnings:
        text.append(f"{len(other_warnings)} probe note(s): ", style="dim")
        text.append(other_warnings[0], style="dim")
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class HardwarePanel(Static):
    """Shows a HardwareSnapshot; `show()` replaces it."""

    def show(self, snapshot: HardwareSnapshot) -> None:
        text = hardware_text(snapshot)
        # The height is set from the lines, not measured (`height: auto`): the panel changes
        # from its one-line placeholder while the screen is first laid out, and on a busy
        # machine the auto height was sometimes kept at one line, hiding the RAM and GPUs.
        self.styles.height = min(len(text.plain.split("\n")), MAX_LINES)  # as auto measured it
        self.update(text)


MAX_LINES = 5  # as picker.tcss's max-height for #hardware
