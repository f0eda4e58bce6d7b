"""The help screen: every key, on `?` and F1."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ / mouse", "select a model"),
    ("Enter", "into the detail pane (scroll it with ↑ ↓ PgUp PgDn; Esc comes back)"),
    ("/", "filter the table as you type (Esc leaves the filter)"),
    ("u", "next use case"),
    ("c", "set the context length"),
    ("s", "sort by the next column (click a header to sort by it; again to reverse)"),
    ("d", "download the selected quantization"),
    ("x", "cancel the running download"),
    ("t", "smoke-test the selected model (load it, measure it)"),
    ("h", "quick chat with the selected model"),
    ("v", "serve the selected model over an OpenAI-compatible API (as `picker serve`; Esc stops)"),
    ("o", "Hub search: GGUF repositories on the Hub, planned for this machine"),
    ("w", "what-if: plan for other hardware"),
    ("Ctrl+W", "back to this machine"),
    ("r", "refresh the hardware probe"),
    ("Ctrl+P", "command palette: every action by name"),
    ("? / F1", "this help"),
    ("Esc", "go back (never quits)"),
    ("q", "quit (asks first while a download runs)"),
)

NOTES = (
    "Speeds marked ~ are estimates; m means measured on this machine by a smoke test. "
    "A score marked * rests on other benchmarks than the use case's (a proxy), ? on no "
    "published benchmark at all: such models are listed after those with the use case's "
    "benchmarks, whatever their score. ● marks a quantization already on disk."
)


def help_renderable() -> Group:
    """One line per key (a Markdown table spent two or three lines on each, so the help
    needed scrolling on a 45-row terminal)."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold")
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    return Group(Text("picker keys", style="bold underline"), Text(""), table, Text(""),
                 Text(NOTES))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_renderable())
