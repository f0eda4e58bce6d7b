"""The detail pane's drawing, kept per width, is the drawing of what it wraps."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from picker.tui.widgets.detail import DrawnOnce


def drawn(renderable: object, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system="truecolor")
    console.print(renderable)
    return console.export_text(styles=True)


def test_drawn_once_draws_as_its_renderable_at_every_width() -> None:
    table = Table("Benchmark", "Score", "Closed models", box=None, padding=(0, 1))
    table.add_row("MMLU (5-shot)", "71.3", "GPT-4o 88.7, Claude 3.5 Sonnet 88.3, Gemini 1.5 Pro 85.9")
    group = Group(Text("Memory", style="bold underline"), table, Text("$ picker fit x", style="green"))
    once = DrawnOnce(group)
    for width in (80, 30, 80, 57):
        assert drawn(once, width) == drawn(group, width)
    assert drawn(once, 30).count("\n") > drawn(once, 80).count("\n")  # narrower: wrapped anew
