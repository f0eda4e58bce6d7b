"""Quick chat with a model on disk: streamed answers, stop, back to the list.

The same session as `picker chat` (picker.runtime.chat.ChatSession over a
LlamaEngine running llama.cpp in a child process), loaded with the same memory
plan's settings, so both faces behave alike. A base model without a chat template
falls back to plain completion, and the screen says so.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from picker.errors import PickerError
from picker.safetext import escape_controls


class ChatScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "stop_or_back", "Stop / back"),
        Binding("ctrl+s", "stop", "Stop answer"),
    ]

    def __init__(self, model_path: Path, title: str, context: int | None = None,
                 n_gpu_layers: int | None = None, target: Any = None) -> None:
        super().__init__()
        self.model_path = model_path
        self.target = target  # the runtime's ModelTarget: where the history files the chat
        self.snapshot: Any = None
        self.run_settings: dict[str, Any] | None = None
        self.model_title = title
        self.context = context
        self.n_gpu_layers = n_gpu_layers
        self.engine: Any = None
        self.session: Any = None
        self.generating = False
        self.leaving = threading.Event()  # set on back: a load in progress stops, its child killed
        self.transcript = Text()
        self.recorded_id: int | None = None  # the history's row for this chat, once closed

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="chat-log"):
            yield Static(self.transcript, id="chat-text")
        yield Static(Text(f"Loading {escape_controls(self.model_title)}..."), id="chat-status")
        yield Input(placeholder="Type a message, Enter to send; Esc stops an answer, then goes back",
                    id="chat-input", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"chat with {escape_controls(self.model_title)}"  # the header names it
        self.load_model()

    def append(self, text: str, style: str = "") -> None:
        self.transcript.append(escape_controls(text, keep_newlines=True), style=style)  # model output
        self.query_one("#chat-text", Static).update(self.transcript)
        self.query_one("#chat-log", VerticalScroll).scroll_end(animate=False)

    def set_status(self, text: str) -> None:
        self.query_one("#chat-status", Static).update(Text(escape_controls(text)))

    @work(thread=True, exclusive=True, group="chat-load")
    def load_model(self) -> None:
        from picker.hardware.probe import probe_hardware
        from picker.llama_settings import LlamaSettings
        from picker.runtime.chat import ChatSession
        from picker.runtime.engine import LlamaEngine
        from picker.runtime.plan import plan_run

        engine = None
        try:
            if not self.model_path.is_file():
                raise PickerError(f"model file not found: {self.model_path}")
            snapshot = probe_hardware()
            run_plan = plan_run(self.model_path, snapshot,
                                LlamaSettings(n_gpu_layers=self.n_gpu_layers), context=self.context)
            self.snapshot, self.run_settings = snapshot, run_plan.settings.load_dict()
            engine = LlamaEngine(self.model_path, run_plan.settings, cancel=self.leaving)
            report = engine.start()
        except PickerError as error:
            if engine is not None:
                engine.close()
            if not self.leaving.is_set():
                self.app.call_from_thread(self.set_status, f"Could not load the model: {error.message}")
            return
        self.engine = engine
        self.session = ChatSession(engine)
        self.app.call_from_thread(self.loaded, report.load_seconds)

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.session.messages) if self.session is not None else []

    def loaded(self, load_seconds: float) -> None:
        from picker.runtime.chat import NO_TEMPLATE_NOTICE

        notice = f" Note: {NO_TEMPLATE_NOTICE}." if self.session.mode == "completion" else ""
        self.set_status(f"Loaded in {load_seconds:.1f} s.{notice}")
        box = self.query_one("#chat-input", Input)
        box.disabled = False
        box.focus()

    @on(Input.Submitted, "#chat-input")
    def send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.generating or self.session is None:
            return
        event.input.value = ""
        if text in ("/exit", "/quit"):
            self.action_back()
            return
        self.append(f"\nyou> {text}\n", "bold")
        self.append("model> ", "bold green")
        self.generating = True
        self.set_status("Answering... (Esc or Ctrl+S stops)")
        self.generate(text)

    @work(thread=True, exclusive=True, group="chat-generate")
    def generate(self, text: str) -> None:
        try:
            for piece in self.session.ask(text):
                self.app.call_from_thread(self.append, piece)
        except PickerError as error:
            self.app.call_from_thread(self.finished, f"Failed: {error.message}")
            return
        stats = self.engine.last_stats
        speed = stats.generation_tokens_per_second if stats is not None else None
        stopped = " (stopped)" if stats is not None and stats.stopped else ""
        summary = f"{speed:.1f} tokens/s{stopped}" if speed else f"done{stopped}"
        self.app.call_from_thread(self.finished, summary)

    def finished(self, summary: str) -> None:
        self.generating = False
        self.append("\n")
        self.set_status(summary)

    def action_stop(self) -> None:
        if self.generating and self.session is not None:
            self.session.stop()

    def action_stop_or_back(self) -> None:
        if self.generating:
            self.action_stop()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.leaving.set()
        self.close_engine()
        self.dismiss(None)

    def close_engine(self) -> None:
        engine, session, self.engine, self.session = self.engine, self.session, None, None
        if engine is not None:  # closing waits for the child: never on the UI thread
            threading.Thread(target=self.record_and_close, args=(engine, session, self.app),
                             name="picker-chat-close", daemon=True).start()

    def record_and_close(self, engine: Any, session: Any, app: Any) -> None:
        """The chat's speeds go to the history, as `picker chat` records them (the ranking
        uses them where no smoke test measured these settings), then the model is unloaded
        and the app re-ranks."""
        from picker.runtime.chat import record_chat

        if self.target is not None and session is not None and self.run_settings is not None:
            with contextlib.suppress(PickerError):  # the chat worked; an unwritable history waits
                self.recorded_id = record_chat(self.target, self.snapshot, self.run_settings,
                                               session)
        engine.close()
        # `app` was read on the UI thread: a plain thread has no active app to ask for.
        recompute = getattr(app, "recompute", None)
        if self.recorded_id is not None and recompute is not None and app.is_running:
            from concurrent.futures import CancelledError

            with contextlib.suppress(RuntimeError, CancelledError):  # the app ended meanwhile
                app.call_from_thread(recompute)

    def on_unmount(self) -> None:
        self.close_engine()
