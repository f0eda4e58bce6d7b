"""The TUI shows untrusted names escaped: a GGUF's name with terminal escapes and Rich markup
is drawn as text in the table and the detail pane, never run or parsed."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, Group

from picker.tui.app import PickerApp
from picker.tui.widgets.detail import benchmark_section, escaped, quant_section
from picker.tui.widgets.model_table import ModelTable
from tests.cli_helpers import run_picker
from tests.test_terminal_escapes import HOSTILE, RAW_CONTROL, hostile_gguf
from tests.tui_helpers import GIB, detail_text, static_text, wait_until, what_if


def drawn_text(renderable: object) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


NAME = f"Evil [reverse]{HOSTILE}[/reverse] Model"


async def test_table_detail_and_status_show_escapes_and_markup_as_text(tmp_path: Path) -> None:
    added = run_picker("catalog", "add", str(hostile_gguf(tmp_path / "models", NAME)))
    assert added.returncode == 0, added.stderr
    app = PickerApp(what_if(ram=64 * GIB, vram=[24 * GIB]))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.document is not None, what="recommendations")
        await pilot.press("slash", "e", "v", "i", "l")
        table = app.query_one(ModelTable)
        await wait_until(pilot, lambda: table.row_count == 1, what="the filtered row")
        drawn = "\n".join(strip.text for strip in table.render_lines(table.region.reset_offset))
        assert not RAW_CONTROL.search(drawn), drawn
        assert "Evil [reverse]\\x1b]52" in drawn  # the markup and the escape, shown as text
        await wait_until(pilot, lambda: "Evil" in detail_text(app), what="the detail")
        detail = detail_text(app)
        assert not RAW_CONTROL.search(detail), detail
        assert "Evil [reverse]\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x9b31m\\x7f\\u202e\\x08[/reverse]" in detail
        app.set_status(f"Downloading {NAME}")
        status = static_text(app, "#status")
        assert not RAW_CONTROL.search(status) and "[reverse]\\x1b]52" in status


def test_detail_tables_show_brackets_in_names_as_text() -> None:
    """Rich parses a str table cell as markup: a catalog's benchmark or source text with tags
    must be drawn as written (with its escapes escaped), not styled or linked."""
    extras = escaped({"benchmarks": [{"benchmark": "mmlu [bold]x[/bold]", "score": 1.0,
                                      "source": f"[link=https://evil.example]here{HOSTILE}[/link]"}],
                      "quantizations": [{"quant": "Q8_0 [reverse]", "placement": "cpu"}]})
    drawn = drawn_text(Group(*benchmark_section(extras), *quant_section(extras)))
    assert "mmlu [bold]x[/bold]" in drawn and "[link=https://evil.example]here\\x1b]52" in drawn
    assert "Q8_0 [reverse]" in drawn and not RAW_CONTROL.search(drawn)
