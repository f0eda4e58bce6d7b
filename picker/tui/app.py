"""The picker app: see what fits, download it, smoke-test it and chat with it.

All slow work (probe, ranking, Hub, llama.cpp) runs in worker threads that report
back with `call_from_thread`; the UI thread only renders.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, ProgressBar, Select, Static

from picker.commands.common import hardware_overrides
from picker.errors import PickerError
from picker.hardware.model import HardwareSnapshot
from picker.hardware.overrides import HardwareOverrides
from picker.rank.request import Ranking
from picker.safetext import escape_controls
from picker.tui.data import USE_CASES, Query
from picker.tui.fit_exports import FitExports
from picker.tui.head_start import FirstScreen, HeadStart
from picker.tui.row_actions import RowActions
from picker.tui.widgets.fixed_input import FixedInput
from picker.tui.widgets.hardware_panel import HardwarePanel
from picker.tui.widgets.model_table import COLUMNS, ModelTable, detail_key, row_key
from picker.tui.widgets.steady_footer import SteadyFooter

NARROW_WIDTH = 140  # below this the detail goes under the table
HIGHLIGHT_DELAY_SECONDS = 0.05
TYPING_REST_SECONDS = 0.3  # a filter's keys come faster than this; the detail waits for a pause


class PickerApp(RowActions, FitExports):
    TITLE = "picker"
    SUB_TITLE = "which local LLMs run well on this machine"
    CSS_PATH = "picker.tcss"
    BINDINGS = [
        Binding("q", "quit_app", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("u", "next_use_case", "Use case"),
        Binding("c", "focus_context", "Context", show=False),
        Binding("s", "next_sort", "Sort", show=False),
        Binding("w", "what_if", "What-if"),
        Binding("ctrl+w", "this_machine", "This machine", show=False),
        Binding("r", "refresh_probe", "Refresh", show=False),
        Binding("escape", "go_back", "Back", show=False),
        Binding("d", "download", "Download"),
        Binding("x", "cancel_download", "Cancel download or smoke test", show=False),
        Binding("t", "smoke", "Smoke test"),
        Binding("h", "chat", "Chat"),
        Binding("v", "serve", "Serve (OpenAI API)", show=False),
        Binding("o", "hub_search", "Hub search", show=False),
        Binding("e", "copy_command", "Copy the llama-server command", show=False),
    ]

    # The table's keys: on another screen (chat, help) they are neither shown nor run.
    TABLE_ACTIONS = frozenset({
        "focus_filter", "next_use_case", "focus_context", "next_sort", "what_if",
        "this_machine", "refresh_probe", "download", "cancel_download", "smoke", "chat",
        "serve", "copy_command",
    })

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The table's bindings belong to the main screen: the chat screen's footer showed
        Download, Smoke test and Chat, and a key could start them behind it."""
        return not (action in self.TABLE_ACTIONS and len(self.screen_stack) > 1)

    def __init__(self, args: argparse.Namespace | None = None,
                 head_start: HeadStart | None = None) -> None:
        super().__init__()
        self.args = args or argparse.Namespace()
        self.query_state = Query(overrides=hardware_overrides(self.args))
        # The first screen worked out by a child process forked at launch (picker.tui.launch)
        self.head_start = head_start
        self.snapshot: HardwareSnapshot | None = None
        self.document: Ranking | None = None
        self.details: dict[str, dict[str, Any]] = {}  # row key -> every quant's fit, benchmarks
        self.download_cancel: threading.Event | None = None
        self.downloading: str | None = None  # MODEL:QUANT being downloaded
        self.last_smoke: dict[str, Any] | None = None
        self.highlight_timer: Timer | None = None
        self.filter_typed_at = 0.0  # time.monotonic() of the last change to the filter
        self.detail_due = False  # a redraw of the detail is scheduled
        self.detail_shown: tuple[str, int, bool, str | None, int, int] | None = None
        self.detail_drawn: dict[tuple[str, int, bool, str | None, int, int], Any] = {}
        # `picker --hosts ...`: (hosts, link), and each row's plan across them by row@context
        self.hosts_and_link: Any = getattr(self.args, "hosts_and_link", None)
        self.hosts_lines: dict[str, list[str]] = {}
        self.smoke_texts: dict[str, str] = {}  # row key -> the last smoke test's report
        self.action_note = ""  # the last finished action, kept on the status line after a re-rank
        self.probing = False  # the panel's probe runs; a ranking that ends first waits for it
        self.ranking_complete = True  # False while only the child's best rows are shown
        self.pending_document: Ranking | None = None

    # ----- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Before any widget is styled: a class set on the screen later restyles every widget.
        self.apply_width(self.size.width)
        yield Header()
        yield HardwarePanel("Reading this machine...", id="hardware")
        with Horizontal(id="controls"):
            yield Select([(label, key) for key, label in USE_CASES], value="general",
                         allow_blank=False, id="use-case", compact=True)
            yield FixedInput(placeholder="context", id="context", type="integer", compact=True)
            yield FixedInput(placeholder="/ type to filter models", id="filter", compact=True)
        with Horizontal(id="body"):
            yield ModelTable(id="models")
            with VerticalScroll(id="detail"):
                yield Static("Select a model to see where its memory goes.", id="detail-text")
        yield ProgressBar(id="download-bar", show_eta=True)
        yield Static("", id="status")
        yield SteadyFooter()

    def on_mount(self) -> None:
        # What exists now (Textual, the composed screen) lives as long as the app: out of the
        # collector's sight, a full collection (one the first ranking's objects set off) costs
        # ~1 ms instead of ~20 ms on a 2-core machine. (new_app turned the collector off for
        # the imports.)
        gc.freeze()
        gc.enable()
        self.query_one(ModelTable).focus()
        self.set_status("Reading this machine...")
        head_start = self.head_start
        if head_start is not None and head_start.read_fd is not None:
            self.probing = True  # the child probes too
            pipe = head_start.read_fd
            self.head_start_readable()  # an answer there already: its rows are in the first frame
            if self.head_start is not None:
                asyncio.get_running_loop().add_reader(pipe, self.head_start_readable)
        else:
            # The probe's thread would share the interpreter with the first frame: start it
            # once that frame is drawn (it still starts within milliseconds).
            self.call_after_refresh(self.action_refresh_probe)
        if self.hosts_and_link is not None:
            self.action_note = ("what-if: " + " + ".join(host.name for host in self.hosts_and_link[0])
                                + " together: the detail pane plans each model across them")

    def head_start_readable(self) -> None:
        """Show the child's answers the pipe holds; once it is done, work out here what it
        did not (all of it, if it failed)."""
        head_start = self.head_start
        assert head_start is not None and head_start.read_fd is not None
        pipe = head_start.read_fd
        for answer in head_start.poll():
            self.show_first_screen(head_start.query, answer)
        if not head_start.done:
            return
        asyncio.get_running_loop().remove_reader(pipe)  # (a no-op if the child was done at mount)
        self.head_start = None
        if not head_start.complete and head_start.query == self.query_state:
            self.action_refresh_probe()  # the child failed: probe and rank here, as without it
        elif self.probing and head_start.query.overrides == self.query_state.overrides:
            self.probe_worker(self.query_state.overrides)  # a ranking of a new query waits for it

    def show_first_screen(self, query: Query, answer: FirstScreen) -> None:
        """One of the child's answers, unless a key changed the query meanwhile: a new use case
        or context ranks in a worker already (its rows wait for a probe), a what-if machine
        probes and ranks anew."""
        if query.overrides != self.query_state.overrides:
            return
        if answer.snapshot != self.snapshot:
            self.show_snapshot(answer.snapshot)
        if query != self.query_state:
            return
        if answer.top_details is not None:
            top = answer.ranking.records[0]
            self.details[detail_key(top)] = answer.top_details
        self.show_document(answer.ranking, complete=answer.complete)

    def on_unmount(self) -> None:
        if self.head_start is not None:  # quit before the child was done
            if self.head_start.read_fd is not None:
                asyncio.get_running_loop().remove_reader(self.head_start.read_fd)
            self.head_start.close()
            self.head_start = None

    def on_resize(self, event: Resize) -> None:
        self.apply_width(event.size.width)

    def apply_width(self, width: int) -> None:
        self.screen.set_class(width < NARROW_WIDTH, "narrow")

    def set_status(self, message: str) -> None:
        """Status lines name models, files and errors: shown as escaped text, never as markup."""
        self.query_one("#status", Static).update(Text(escape_controls(message)))

    # ----- probe and recommendations (worker threads) --------------------------
    def action_refresh_probe(self) -> None:
        """Probe for the hardware panel and rank at once: the ranking reads the machine itself,
        so it need not wait for the panel's probe; its rows are shown after the panel's."""
        self.probing = True
        self.probe_worker(self.query_state.overrides)
        self.recompute()

    @work(thread=True, exclusive=True, group="probe")
    def probe_worker(self, overrides: HardwareOverrides) -> None:
        from picker.hardware.probe import probe_hardware

        try:
            snapshot = probe_hardware(overrides)
        except PickerError as error:
            self.call_from_thread(self.probe_failed, error.message)
            return
        self.call_from_thread(self.show_snapshot, snapshot)

    def probe_failed(self, message: str) -> None:
        self.probing = False
        self.pending_document = None
        self.set_status(message)

    def show_snapshot(self, snapshot: HardwareSnapshot) -> None:
        self.snapshot = snapshot
        self.probing = False
        self.details.clear()  # every quant's fit depends on the machine
        self.detail_drawn.clear()
        self.detail_shown = None
        self.query_one(HardwarePanel).show(snapshot)
        if self.pending_document is not None:
            document, self.pending_document = self.pending_document, None
            self.show_document(document)
        elif self.document is not None:
            self.show_detail()

    def recompute(self) -> None:
        self.set_status("Ranking models for this machine...")
        self.rank_worker(self.query_state)

    @work(thread=True, exclusive=True, group="rank")
    def rank_worker(self, query: Query) -> None:
        from picker.tui.data import recommendations

        try:
            document = recommendations(query)
        except PickerError as error:
            self.call_from_thread(self.set_status, error.message)
            return
        self.call_from_thread(self.show_document, document)

    def show_document(self, document: Ranking, complete: bool = True) -> None:
        """The ranking's rows; `complete` False: only the best, every model that fits to come."""
        if self.probing:  # the panel's probe comes first, so the rows never show an older machine
            self.pending_document = document
            return
        self.document = document
        self.ranking_complete = complete
        self.detail_drawn.clear()  # drawn from the previous document's rows
        table = self.query_one(ModelTable)
        table.set_rows(document.records)
        self.set_status(self.table_summary())
        self.show_context_default(document.settings.get("context"))
        # The rows first: the detail's tables take longer to draw than the table does.
        self.call_after_refresh(self.show_detail)

    def show_context_default(self, context: Any) -> None:
        """The context box shows the context the ranking used when the user set none."""
        box = self.query_one("#context", Input)
        if self.query_state.context is None and isinstance(context, int):
            box.placeholder = f"{context} (default)"

    def table_summary(self) -> str:
        """The status line between actions: how many models fit and how many are shown (the
        filter), how many were left out for speed, the use case, context and sort."""
        table = self.query_one(ModelTable)
        settings = self.document.settings if self.document is not None else {}
        total, shown = len(table.rows_data), len(table.shown_keys)
        parts = [self.action_note] if self.action_note else []  # the last action, first
        fit = f"{total} models fit" if self.ranking_complete else (
            f"the best {total} models that fit (ranking the rest...)")
        parts.append(fit if shown == total or not table.filter_text
                     else f"{shown} of {total} models shown (filter {table.filter_text!r})")
        slow = {reason: count for reason, count in settings.get("excluded", {}).items()
                if reason.startswith("slower than") and self.ranking_complete}
        parts += [f"{count} left out as {reason}" for reason, count in slow.items()]
        context = settings.get("context") or settings.get("ctx")
        parts.append(f"use case {settings.get('use_case', '?')}")
        if context:
            parts.append(f"context {context}")
        if table.sort_column is not None:
            label = next(title for name, title, _ in COLUMNS if name == table.sort_column)
            parts.append(f"sort {label} {'▼' if table.sort_reverse else '▲'}")
        return " · ".join(parts)

    # ----- controls -------------------------------------------------------------
    @on(Select.Changed, "#use-case")
    def use_case_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.query_state.use_case:
            self.query_state = replace(self.query_state, use_case=event.value)
            self.recompute()

    @on(Input.Submitted, "#context")
    def context_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            context = None
        elif text.isdigit() and 256 <= int(text) <= 1_048_576:
            context = int(text)
        else:
            self.set_status("Context: give a whole number of tokens from 256 to 1048576, e.g. 8192")
            return
        self.query_state = replace(self.query_state, context=context)
        self.query_one(ModelTable).focus()
        self.recompute()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_typed_at = time.monotonic()
        self.query_one(ModelTable).set_filter(event.value)
        if self.downloading is None and not self.installing_runtime:  # their progress stays
            self.set_status(self.table_summary())
        if self.detail_due:  # a detail still to draw waits until typing rests
            self.schedule_detail(TYPING_REST_SECONDS)

    @on(Input.Submitted, "#filter")
    def filter_submitted(self) -> None:
        self.query_one(ModelTable).focus()

    @on(ModelTable.RowHighlighted)
    def row_highlighted(self) -> None:
        # Redrawing the detail costs more than a keystroke may: do it once the cursor rests,
        # and, while a filter is being typed (the table follows every key), once typing rests.
        typing = time.monotonic() - self.filter_typed_at < TYPING_REST_SECONDS
        self.schedule_detail(TYPING_REST_SECONDS if typing else HIGHLIGHT_DELAY_SECONDS)

    def schedule_detail(self, delay_seconds: float) -> None:
        if self.highlight_timer is not None:
            self.highlight_timer.stop()
        self.detail_due = True
        self.highlight_timer = self.set_timer(delay_seconds, self.show_detail)

    @on(ModelTable.RowSelected)
    def row_selected(self) -> None:
        """Enter: into the detail pane, to scroll it with the keys; Esc comes back."""
        self.query_one("#detail", VerticalScroll).focus()

    def show_detail(self) -> None:
        from picker.tui.widgets.detail import DrawnOnce, render_detail

        self.detail_due = False
        tables = self.query(ModelTable)
        if not tables:
            return  # the app is closing: a late timer or worker has nothing to show
        row = tables.first().selected_row()
        detail = self.query_one("#detail-text", Static)
        if row is None:
            self.detail_shown = None
            detail.update("No model to show: change the use case, the context or the filter.")
            return
        key = detail_key(row)
        extras = self.details.get(key)
        if extras is None and self.snapshot is not None:
            # Every quant's fit and the benchmarks: ~5 ms here, less than drawing the detail
            # twice (first without them) and far less than a thread waiting for its turn.
            from picker.tui.data import model_details

            extras = self.details[key] = model_details(
                row.model_id, self.snapshot, row.context)
        smoke_report = self.smoke_texts.get(row_key(row))
        hosts_lines = None
        if self.hosts_and_link is not None:
            hosts_lines = self.hosts_lines.get(key)
            if hosts_lines is None:  # one split: tens of milliseconds, once per row and context
                from picker.tui.data import hosts_details

                hosts_lines = self.hosts_lines[key] = hosts_details(
                    row.model_id, row.quant, row.context,
                    self.hosts_and_link)
        fit_document = self.fit_document(row, key)  # picker fit's advice and llama-server line
        shown = (key, id(row), extras is None, smoke_report, id(hosts_lines), id(fit_document))
        if shown == self.detail_shown:
            return  # the same row again (e.g. the filter kept it): nothing to redraw
        self.detail_shown = shown
        drawn = self.detail_drawn.get(shown)
        if drawn is None:  # a row seen before (typing, then deleting, a filter) is drawn already
            if len(self.detail_drawn) >= 64:
                self.detail_drawn.clear()
            drawn = self.detail_drawn[shown] = DrawnOnce(
                render_detail(row, self.document.hardware if self.document else {}, extras,
                              smoke_report, hosts_lines,
                              fit_document))
        detail.update(drawn)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_context(self) -> None:
        self.query_one("#context", Input).focus()

    def action_next_use_case(self) -> None:
        keys = [key for key, _ in USE_CASES]
        following = keys[(keys.index(self.query_state.use_case) + 1) % len(keys)]
        self.query_one("#use-case", Select).value = following

    def action_next_sort(self) -> None:
        table = self.query_one(ModelTable)
        names = [name for name, _, _ in COLUMNS]
        current = names.index(table.sort_column) if table.sort_column in names else -1
        table.sort_by(names[(current + 1) % len(names)])
        self.set_status(self.table_summary())

    def action_go_back(self) -> None:
        """Esc: leave the filter or context box; never quits."""
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "filter" and focused.value:
            focused.value = ""
        self.query_one(ModelTable).focus()

    # ----- what-if ---------------------------------------------------------------
    def action_what_if(self) -> None:
        from picker.tui.screens.what_if import WhatIfScreen

        def chosen(overrides: HardwareOverrides | None) -> None:
            if overrides is not None:
                self.query_state = replace(self.query_state, overrides=overrides)
                self.action_refresh_probe()

        self.push_screen(WhatIfScreen(), chosen)

    def action_this_machine(self) -> None:
        self.query_state = replace(self.query_state, overrides=HardwareOverrides())
        self.action_refresh_probe()

    # ----- the Hub ------------------------------------------------------------------
    def action_hub_search(self) -> None:
        """GGUF repositories on the Hub, planned for the machine shown (`picker search`)."""
        from picker.tui.screens.hub_search import HubSearchScreen

        table = self.query_one(ModelTable)
        row = table.selected_row()
        machine = "the what-if machine" if self.query_state.overrides.any else "this machine"
        self.push_screen(HubSearchScreen(self.snapshot, machine, row.model_id if row else None))

    # ----- help, palette, quit ---------------------------------------------------------
    def action_help(self) -> None:
        from picker.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action != "go_back":
                yield SystemCommand(binding.description, f"key: {binding.key}",
                                    lambda action=binding.action: self.run_action(action))

    def action_quit_app(self) -> None:
        if self.downloading is None:
            self.exit(0)
            return
        from picker.tui.screens.confirm import ConfirmScreen

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                if self.download_cancel is not None:
                    self.download_cancel.set()
                self.exit(0)

        self.push_screen(ConfirmScreen(f"A download of {self.downloading} is running. Quit anyway? "
                                       "(it resumes next time)"), answered)

