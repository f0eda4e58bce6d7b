"""The help screen: every key, on `?` and F1."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP_TEXT = """\
# picker keys

| key | what it does |
|---|---|
| ↑ ↓ / mouse | select a model |
| Enter | into the detail pane (scroll it with ↑ ↓ PgUp PgDn; Esc comes back) |
| / | filter the table as you type (Esc leaves the filter) |
| u | next use case |
| c | set the context length |
| s | sort by the next column (click a header to sort by it; again to reverse) |
| d | download the selected quantization |
| x | cancel the running download |
| t | smoke-test the selected model (load it, measure it) |
| h | quick chat with the selected model |
| w | what-if: plan for other hardware |
| Ctrl+W | back to this machine |
| r | refresh the hardware probe |
| Ctrl+P | command palette: every action by name |
| ? / F1 | this help |
| Esc | go back (never quits) |
| q | quit (asks first while a download runs) |

Speeds marked `~` are estimates; `m` means measured on this machine by a smoke test.
A score marked `*` rests on other benchmarks than the use case's (a proxy), `?` on no
published benchmark at all: such models are listed after those with the use case's
benchmarks, whatever their score. `●` marks a quantization already on disk.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP_TEXT)
