"""The selected row's actions: download it, smoke-test it, chat with it, serve it.

Each runs in a worker thread and reports back with `call_from_thread`; PickerApp
(picker/tui/app.py) gives the status line and the re-ranking they end with.
"""

from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import App
from textual.widgets import ProgressBar

from picker.errors import PickerError
from picker.rank.records import RecommendationRecord
from picker.tui.widgets.model_table import ModelTable


class RowActions(App[int]):
    """Download, smoke test and chat for the row under the cursor."""

    downloading: str | None  # MODEL:QUANT being downloaded
    download_cancel: threading.Event | None
    smoke_cancel: threading.Event | None = None  # set by x while a smoke test runs
    last_smoke: dict[str, Any] | None  # the last smoke test's --json document
    smoke_texts: dict[str, str]  # row key -> the last smoke test's report
    action_note: str  # the last finished action, kept on the status line after a re-rank
    installing_runtime: bool = False  # llama-cpp-python's install runs

    def set_status(self, message: str) -> None:
        raise NotImplementedError

    def recompute(self) -> None:
        raise NotImplementedError

    def selected(self) -> RecommendationRecord | None:
        row = self.query_one(ModelTable).selected_row()
        if row is None:
            self.set_status("Select a model first.")
        return row

    def action_download(self) -> None:
        row = self.selected()
        if row is None:
            return
        if self.downloading is not None:
            self.set_status(f"Already downloading {self.downloading}; x cancels it.")
            return
        target = f"{row.model_id}:{row.quant}"
        self.downloading = target
        self.download_cancel = threading.Event()
        bar = self.query_one("#download-bar", ProgressBar)
        bar.update(total=row.download_bytes or None, progress=0)
        bar.add_class("active")
        self.set_status(f"Downloading {target}... (x cancels; a cancelled download resumes)")
        self.download_worker(target, self.download_cancel)

    @work(thread=True, exclusive=True, group="download")
    def download_worker(self, target: str, cancel: threading.Event) -> None:
        from picker.tui import actions

        try:
            result = actions.download(target, lambda event: self.call_from_thread(
                self.download_progress, target, event), cancel)
        except PickerError as error:
            self.call_from_thread(self.download_finished, target, None, error.message)
            return
        self.call_from_thread(self.download_finished, target, result, None)

    def download_progress(self, target: str, event: Any) -> None:
        from picker.units import format_size

        bar = self.query_one("#download-bar", ProgressBar)
        bar.update(total=event.total_bytes or None, progress=event.done_bytes)
        rate = f" at {format_size(event.rate_bytes_per_second)}/s" if event.rate_bytes_per_second else ""
        eta = f", {event.eta_seconds:.0f} s left" if event.eta_seconds is not None else ""
        part = f" part {event.part_index}/{event.part_count}" if event.part_count > 1 else ""
        self.set_status(f"{event.kind}: {target}{part} {format_size(event.done_bytes)} of "
                        f"{format_size(event.total_bytes)}{rate}{eta} (x cancels)")

    def download_finished(self, target: str, result: Any, error: str | None) -> None:
        self.downloading = None
        self.download_cancel = None
        self.query_one("#download-bar", ProgressBar).remove_class("active")
        if error is not None:
            self.set_status(f"Download of {target} stopped: {error}")
            return
        self.action_note = f"Downloaded and verified {target}"
        self.set_status(f"{self.action_note}: {result.path}")
        self.recompute()

    def action_cancel_download(self) -> None:
        """x: cancel the download, else the smoke test, that is running."""
        if self.download_cancel is None and self.smoke_cancel is not None:
            self.smoke_cancel.set()
            self.set_status("Cancelling the smoke test...")
            return
        if self.download_cancel is None:
            self.set_status("No download or smoke test is running.")
            return
        self.download_cancel.set()
        self.set_status(f"Cancelling the download of {self.downloading}...")

    def with_runtime(self, then: Any) -> None:
        """Call `then()` once llama-cpp-python is usable: at once when it is, else after the user
        agrees to install it (a child process, progress on the status line, a log)."""
        from picker.runtime.availability import llama_cpp_problem

        problem = llama_cpp_problem()
        if problem is None:
            then()
            return
        if self.installing_runtime:
            self.set_status("llama-cpp-python is still being installed; see the status line.")
            return
        from picker.commands.runtime_setup import offer_text
        from picker.hardware.probe import probe_hardware
        from picker.runtime.install import build_choice
        from picker.tui.screens.confirm import ConfirmScreen

        choice = build_choice(probe_hardware())  # this machine's GPUs, never a what-if's

        def answered(install: bool | None) -> None:
            if not install:
                from picker.runtime.install import by_hand_command

                self.set_status(f"Not installed. By hand: {by_hand_command(choice)}")
                return
            self.installing_runtime = True
            self.install_worker(choice, then)

        self.push_screen(ConfirmScreen(offer_text(choice, problem) + "\n\nInstall it now?"),
                         answered)

    @work(thread=True, exclusive=True, group="runtime-install")
    def install_worker(self, choice: Any, then: Any) -> None:
        from picker.commands.runtime_setup import install_log_path
        from picker.runtime.install import run_install

        log_path = install_log_path()
        result = run_install(choice, log_path, lambda progress: self.call_from_thread(
            self.set_status, f"Installing llama-cpp-python ({choice.backend} build): "
            f"{progress.summary()}; log: {log_path}"))
        self.call_from_thread(self.install_finished, result, then)

    def install_finished(self, result: Any, then: Any) -> None:
        from picker.runtime.availability import llama_cpp_problem

        self.installing_runtime = False
        problem = llama_cpp_problem()
        if not result.succeeded or problem is not None:
            self.set_status(f"Installing llama-cpp-python failed: "
                            f"{problem if result.succeeded else result.reason()}; log: {result.log_path}")
            return
        minutes, seconds = divmod(int(result.seconds), 60)
        self.set_status(f"llama-cpp-python installed in {minutes}:{seconds:02d}.")
        then()

    def action_smoke(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.with_runtime(lambda: self.start_smoke(row))

    def start_smoke(self, row: RecommendationRecord) -> None:
        self.set_status(f"Smoke test of {row.model_id}:{row.quant}: loading it with "
                        "llama.cpp... (x cancels)")
        self.smoke_cancel = threading.Event()
        self.smoke_worker(row, self.smoke_cancel)

    @work(thread=True, exclusive=True, group="smoke")
    def smoke_worker(self, row: RecommendationRecord, cancel: threading.Event) -> None:
        from picker.tui import actions

        try:
            output = actions.smoke(row, cancel)
        except PickerError as error:
            self.call_from_thread(self.smoke_stopped, f"Smoke test stopped: {error.message}"
                                  if cancel.is_set() else f"Smoke test could not run: {error.message}")
            return
        self.call_from_thread(self.smoke_finished, row, output.document["smoke"], output.text)

    def smoke_stopped(self, message: str) -> None:
        self.smoke_cancel = None
        self.set_status(message)

    def smoke_finished(self, row: RecommendationRecord, document: dict[str, Any], text: str) -> None:
        from picker.tui.widgets.model_table import row_key

        self.smoke_cancel = None
        self.last_smoke = document
        self.smoke_texts[row_key(row)] = text
        verdict = "passed" if document["passed"] else f"FAILED: {document['reason']}"
        self.action_note = f"Smoke test {verdict}"
        self.set_status(self.action_note)
        self.recompute()  # the table now shows the measured speed

    def action_chat(self) -> None:
        self.open_on_disk("chat")

    def action_serve(self) -> None:
        """v: the selected model behind an OpenAI-compatible server, as `picker serve` runs it."""
        self.open_on_disk("serve")

    def open_on_disk(self, screen: str) -> None:
        row = self.selected()
        if row is None:
            return
        self.with_runtime(lambda: self.on_disk_worker(row, screen))

    @work(thread=True, exclusive=True, group="open-on-disk")
    def on_disk_worker(self, row: RecommendationRecord, screen: str) -> None:
        from picker.tui import actions

        target = actions.model_target(row)
        self.call_from_thread(self.open_screen, row, target, screen)

    def open_screen(self, row: RecommendationRecord, target: Any, screen: str) -> None:
        """The chat or serve screen for a row on disk (the file found by `on_disk_worker`)."""
        from picker.tui.screens.chat import ChatScreen
        from picker.tui.screens.serve import ServeScreen

        if target is None:
            self.set_status(f"{row.model_id}:{row.quant} is not on disk yet: press d to "
                            "download it first.")
            return
        from picker.tui.actions import runtime_gpu_layers

        title = f"{row.name or row.model_id} {row.quant}"
        layers = runtime_gpu_layers(row)
        if screen == "serve":
            self.push_screen(ServeScreen(target, title, row.context, layers))
        else:
            self.push_screen(ChatScreen(target.path, title, row.context, layers, target))
