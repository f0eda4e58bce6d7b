"""Serve the selected model over an OpenAI-compatible API, as `picker serve` does, until Esc.

The same plan as the quick chat and `picker serve` (picker.runtime.plan), the same server
(picker.runtime.server: llama-cpp-python's, in a child process). It listens on 127.0.0.1,
port 8080 or a free one when that is taken. The child is started on the UI thread, so on
Linux it ends with picker whatever happens; Esc, or leaving the app, stops it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from picker.errors import PickerError
from picker.safetext import escape_controls

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from picker.runtime.server import ServerAddress, ServerProcess
    from picker.targets.on_disk import ModelTarget

HOST = "127.0.0.1"


class ServeScreen(Screen[None]):
    BINDINGS = [Binding("escape", "stop_and_back", "Stop the server / back")]

    def __init__(self, target: ModelTarget, title: str, context: int | None = None,
                 n_gpu_layers: int | None = None) -> None:
        super().__init__()
        self.target = target
        self.model_title = title
        self.context = context
        self.n_gpu_layers = n_gpu_layers
        self.server: ServerProcess | None = None
        self.url: str | None = None  # once the server answers
        self.leaving = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"Planning {escape_controls(self.model_title)}..."), id="serve-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"serve {escape_controls(self.model_title)}"
        self.start_serving()

    def set_status(self, text: str) -> None:
        self.query_one("#serve-status", Static).update(Text(escape_controls(text)))

    @work(thread=True, exclusive=True, group="serve")
    def start_serving(self) -> None:
        from picker.hardware.probe import probe_hardware
        from picker.llama_settings import LlamaSettings
        from picker.paths import picker_paths
        from picker.runtime.plan import plan_run
        from picker.runtime.server import require_server_extra, server_command
        from picker.runtime.settings import RuntimeLimits

        try:
            require_server_extra()
            run_plan = plan_run(self.target.path, probe_hardware(),
                                LlamaSettings(n_gpu_layers=self.n_gpu_layers), context=self.context)
            address = _free_address()
            alias = self.target.label
            command = server_command(self.target.path, run_plan.settings, address, alias)
            log_path = picker_paths().cache_dir / f"serve-{address.port}.log"
            limit = RuntimeLimits.for_file(self.target.path.stat().st_size).load_seconds
        except (PickerError, OSError) as error:
            self._stopped(f"Cannot serve it: {getattr(error, 'message', error)}. Esc goes back.")
            return
        self._say(f"Starting llama-cpp-python's server at {address.url} (log: {log_path})... "
                  "Esc stops it.")
        server = self.app.call_from_thread(self.launch, command, address, log_path)
        if server is None:
            return
        try:
            seconds = server.wait_until_ready(limit)
        except PickerError as error:
            self._stopped(f"The server stopped: {error.message}. Esc goes back.")
            return
        settings = run_plan.settings
        self.url = address.url
        self._say(f"Serving {alias} at {address.url} (OpenAI-compatible; model id {alias}), "
                  f"ready in {seconds:.1f} s; n_ctx {settings.n_ctx}, n_gpu_layers "
                  f"{settings.n_gpu_layers}. Esc stops the server. Log: {log_path}")
        server.wait()
        self._stopped(f"The server stopped: {server.failure('while serving').message}. "
                      "Esc goes back.")

    def launch(self, command: Sequence[str], address: ServerAddress,
               log_path: Path) -> ServerProcess | None:
        """On the UI thread: the server's child process, unless the user has left."""
        from picker.runtime.server import ServerProcess

        if self.leaving.is_set():
            return None
        try:
            self.server = ServerProcess(command, address, log_path)
        except PickerError as error:
            self.set_status(f"Cannot serve it: {error.message}. Esc goes back.")
            return None
        return self.server

    def _say(self, text: str) -> None:
        if not self.leaving.is_set():
            self.app.call_from_thread(self.set_status, text)

    def _stopped(self, text: str) -> None:
        self.url = None
        self._say(text)

    def action_stop_and_back(self) -> None:
        self.stop_server()
        self.dismiss(None)

    def stop_server(self) -> None:
        self.leaving.set()
        server, self.server = self.server, None
        if server is not None:
            server.stop()  # uvicorn ends within a second; its group is killed after 3 s

    def on_unmount(self) -> None:
        self.stop_server()


def _free_address() -> ServerAddress:
    """127.0.0.1:8080 (`picker serve`'s default), or a free port when that one is taken."""
    from picker.runtime.server import DEFAULT_PORT, PortInUseError, claim_port

    try:
        return claim_port(HOST, DEFAULT_PORT)
    except PortInUseError:
        return claim_port(HOST, 0)
