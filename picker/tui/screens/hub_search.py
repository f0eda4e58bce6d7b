"""The Hub mode (`o`): search the Hub for GGUF repositories, each quantization planned for the
machine the picker shows (this one or the what-if one), as `picker search` prints them.

An empty search lists the other GGUF sources of the selected catalog model (`picker search
--for ID`). The search runs in a worker thread; the results are plain text (never markup),
every Hub-sent value in it escaped by the same renderer the CLI uses.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from picker.safetext import escape_controls


def run_search(words: str, model_id: str | None, snapshot: Any, machine: str) -> str:
    """The text of one search (or the one-line reason it failed): the TUI's side of
    `picker search`. Runs in a worker thread."""
    from picker.errors import PickerError
    from picker.hardware.probe import probe_hardware
    from picker.hubsearch.listing import Query, check_query
    from picker.hubsearch.render import render_results
    from picker.hubsearch.search import search_document

    try:
        if words.strip():
            query = check_query(Query(search=words.strip()))
        elif model_id:
            from picker.hubsearch.search import query_for_model

            query = query_for_model(model_id, "downloads", Query().limit)
        else:
            return "Type words to search for (e.g. qwen3), or select a catalog model first."
        document, warnings = search_document(query, snapshot or probe_hardware(), machine)
    except PickerError as error:
        return f"Search failed: {error.message}"
    notes = "".join(f"\nnote: {escape_controls(w)}" for w in warnings)
    return render_results(document) + notes


class HubSearchScreen(ModalScreen[None]):
    """Closes on Esc; Enter in the box runs the search."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]
    DEFAULT_CSS = """
    HubSearchScreen { align: center middle; }
    #hub-search { width: 95%; height: 90%; border: round $primary; background: $surface;
                  padding: 0 1; }
    #hub-results-scroll { height: 1fr; }
    """

    def __init__(self, snapshot: Any, machine: str, model_id: str | None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.machine = machine
        self.model_id = model_id

    def compose(self) -> ComposeResult:
        other = (f"; empty: other GGUF sources of {self.model_id}" if self.model_id else "")
        with Vertical(id="hub-search"):
            yield Label(f"Search the Hugging Face Hub for GGUF repositories, planned for "
                        f"{self.machine} (Enter searches, Esc closes)")
            yield Input(placeholder=f"words, e.g. qwen3{other}", id="hub-query", compact=True)
            with VerticalScroll(id="hub-results-scroll"):
                yield Static(Text("Nothing searched yet."), id="hub-results")

    def on_mount(self) -> None:
        self.query_one("#hub-query", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        words = event.value
        self.query_one("#hub-results", Static).update(Text("Searching the Hub..."))

        def work() -> None:
            text = run_search(words, self.model_id, self.snapshot, self.machine)
            self.app.call_from_thread(self.show, text)

        self.run_worker(work, thread=True, exclusive=True, group="hub-search")

    def show(self, text: str) -> None:
        self.query_one("#hub-results", Static).update(Text(escape_controls(text, keep_newlines=True)))
