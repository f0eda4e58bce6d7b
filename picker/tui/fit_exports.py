"""The selected row through `picker fit`: its settings advice in the detail pane, and its
llama-server command line copied to the clipboard (the e key).

`fit_row` runs in a worker thread (a probe and the advisor's re-plans: about 0.3 s); its
document is kept per row and context. The advice is worked out by itself only for a row
that the GPUs hold partly (where the advisor has something to say); the command line on
the first press of e. PickerApp (picker/tui/app.py) gives the status line and the detail.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import App
from textual.worker import get_current_worker

from picker.hardware.model import HardwareSnapshot
from picker.rank.records import RecommendationRecord
from picker.tui.data import Query
from picker.tui.fit_row import fit_row


class FitExports(App[int]):
    """`picker fit`'s document per row: advice for the detail, the command for the clipboard."""

    fit_documents: dict[str, dict[str, Any]]  # row key @ context -> picker fit's document
    fit_asked: set[str]  # keys whose document a worker is working out
    copy_wanted: str | None  # the key whose command e asked for before its document was ready
    snapshot: HardwareSnapshot | None
    query_state: Query

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fit_documents = {}
        self.fit_asked = set()
        self.copy_wanted = None

    def set_status(self, message: str) -> None:
        raise NotImplementedError

    def selected(self) -> RecommendationRecord | None:
        raise NotImplementedError

    def schedule_detail(self, delay_seconds: float) -> None:
        raise NotImplementedError

    def fit_document(self, row: RecommendationRecord, key: str, wanted: bool = False
                     ) -> dict[str, Any] | None:
        """The row's document if worked out; else None, and a worker starts on it when the
        row needs advice (placed partly on the GPUs) or `wanted`. Kept per machine too: a
        what-if machine has documents of its own."""
        key = f"{key}|{hash(self.query_state.overrides)}"
        if key in self.fit_documents:
            return self.fit_documents[key]
        partly = (self.snapshot is not None and bool(self.snapshot.gpus)
                  and row.placement != "gpu")
        if (wanted or partly) and key not in self.fit_asked:
            self.fit_asked.add(key)
            self.fit_row_worker(row, key, self.query_state.overrides)
        return None

    @work(thread=True, group="fit-row")
    def fit_row_worker(self, row: RecommendationRecord, key: str, overrides: Any) -> None:
        document = fit_row(row, overrides)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.fit_row_done, key, document)

    def fit_row_done(self, key: str, document: dict[str, Any]) -> None:
        self.fit_documents[key] = document
        self.fit_asked.discard(key)
        if self.copy_wanted == key:
            self.copy_wanted = None
            self.copy_command(document)
        self.schedule_detail(0.01)  # (a 0 s timer divides by zero in Textual)

    def action_copy_command(self) -> None:
        """e: the selected row's plan as llama-server's command line, to the clipboard."""
        from picker.tui.widgets.model_table import detail_key

        row = self.selected()
        if row is None:
            return
        key = detail_key(row)
        document = self.fit_document(row, key, wanted=True)
        if document is None:
            self.copy_wanted = f"{key}|{hash(self.query_state.overrides)}"
            self.set_status(f"Planning {row.model_id}:{row.quant} for llama-server...")
            return
        self.copy_command(document)

    def copy_command(self, document: dict[str, Any]) -> None:
        if document.get("error"):
            self.set_status(f"picker fit: {document['error']}")
            return
        text = str((document.get("emit") or {}).get("text") or "")
        if not text:
            self.set_status("picker fit gave no llama-server command for this row.")
            return
        self.copy_to_clipboard(text)
        asked = " ".join(["picker", *document.get("arguments", [])])
        self.set_status(f"Copied to the clipboard ({asked}): {text}")
