"""llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) in a child process.

`picker serve` hands it the settings picker's plan chose, as its own command-line flags, so the
server loads exactly what `picker fit` planned. The child runs in its own session (the
terminal's Ctrl-C reaches picker only, which then stops the whole process group) and, on
Linux, is told to end with picker if picker itself is killed, so nothing is left running.
Everything it prints (llama.cpp's log, uvicorn's requests) goes to a log file; a server that
ends before it answers is turned into one line from that log.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from picker.errors import InsufficientResourcesError, PickerError, RuntimeFailureError, UsageError
from picker.llama_settings import GGML_TYPE_IDS, LlamaSettings
from picker.runtime.failure import describe_exit, failure_from_log
from picker.runtime.install import LLAMA_CPP_PYTHON_VERSION, SERVER_REQUIREMENT

# What llama-cpp-python 0.3.36's `server` extra installs (its metadata's Requires-Dist for
# extra == "server"), as the modules `llama_cpp.server` imports.
SERVER_MODULES = ("uvicorn", "fastapi", "pydantic_settings", "sse_starlette", "starlette_context",
                  "yaml")
DEFAULT_PORT = 8080  # llama-server's; port 0 asks for a free one
# Asks the server directly: an http_proxy in the environment must not stand between.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_POLL_SECONDS = 0.2  # waits are sliced so Ctrl-C is handled promptly
_STOP_SECONDS = 3.0  # uvicorn's graceful shutdown, before the group is killed


class ServerExtraMissingError(RuntimeFailureError):
    code = "server_extra_missing"


class PortInUseError(UsageError):
    code = "port_in_use"


def require_server_extra() -> None:
    """Raise one line naming the missing packages and the install command, unless all are here."""
    missing = [name for name in SERVER_MODULES if not _importable(name)]
    if missing:
        raise ServerExtraMissingError(
            f"llama-cpp-python's server extra is not installed (missing: {', '.join(missing)}); "
            f"install it with `pip install \"{SERVER_REQUIREMENT}\"` (with llama-cpp-python "
            f"{LLAMA_CPP_PYTHON_VERSION} already "
            "here this adds only the server's packages), or `pip install 'picker[serve]'`")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        """The OpenAI base URL clients are given (`.../v1`)."""
        return f"http://{self._bracketed(self.host)}:{self.port}/v1"

    @property
    def _reachable_host(self) -> str:
        """Where picker itself asks: a wildcard address is reached on loopback."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)

    @property
    def models_url(self) -> str:
        return f"http://{self._bracketed(self._reachable_host)}:{self.port}/v1/models"

    @staticmethod
    def _bracketed(host: str) -> str:
        return f"[{host}]" if ":" in host else host


def claim_port(host: str, port: int) -> ServerAddress:
    """The address to serve on, checked free now (port 0: a free one is chosen), so a busy port
    is said before the model loads. Binds as uvicorn does (SO_REUSEADDR), so a port that only
    has connections closing on it is not taken for busy."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise UsageError(f"--host {host}: cannot listen there ({error}); give an address of this "
                         "machine, e.g. 127.0.0.1 or 0.0.0.0") from None
    family, kind, protocol, _name, where = infos[0]
    try:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(where)
            return ServerAddress(host, int(probe.getsockname()[1]))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use (another server?); stop it, or "
                "choose another with --port N (--port 0 picks a free one)") from None
        raise UsageError(f"cannot listen on {host} port {port}: {error.strerror or error}; "
                         "choose another --host or --port") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_command(model_path: Path, settings: LlamaSettings, address: ServerAddress,
                   alias: str, tensor_split: Sequence[int] = (),
                   projector: Path | None = None) -> list[str]:
    """`python -m llama_cpp.server` with the plan's settings as its flags (llama_cpp.server's
    ModelSettings names). logits_all is off as picker's own runtime loads (the server's default
    keeps logits for every token: memory the plan does not count, needed only for logprobs).
    The server has no flag for swa_full; llama.cpp's default (on) is what the plan assumes."""
    flags = {
        "model": str(model_path), "model_alias": alias,
        "host": address.host, "port": str(address.port),
        "n_gpu_layers": str(settings.n_gpu_layers or 0), "n_ctx": str(settings.n_ctx),
        "n_batch": str(settings.n_batch), "n_ubatch": str(settings.n_ubatch),
        "flash_attn": str(settings.flash_attn).lower(),
        "type_k": str(GGML_TYPE_IDS[settings.type_k]),
        "type_v": str(GGML_TYPE_IDS[settings.type_v]),
        "seed": str(settings.seed), "logits_all": "false",
    }
    if settings.n_threads is not None:
        flags["n_threads"] = str(settings.n_threads)
    if projector is not None:  # the generic libmtmd handler, with the model's own chat template
        flags.update(clip_model_path=str(projector), chat_format="mtmd")
    command = [sys.executable, "-m", "llama_cpp.server"]
    for name, value in flags.items():
        command += [f"--{name}", value]
    if tensor_split:
        command += ["--tensor_split", *(str(float(share)) for share in tensor_split)]
    return command


def _end_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the thread that started it ends, which
    for picker's main thread is when picker does, even by SIGKILL."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ServerProcess:
    """The running server; a context manager that always stops it (and its process group)."""

    def __init__(self, command: Sequence[str], address: ServerAddress, log_path: Path) -> None:
        from picker.safefiles import open_for_append

        self.address = address
        self.log_path = log_path
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log: BinaryIO = open_for_append(log_path)
            with log:
                self._log_start = log.seek(0, os.SEEK_END)
                self.process = subprocess.Popen(
                    list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=os.name == "posix",
                    preexec_fn=_end_with_parent if _ends_with_parent() else None,
                    creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
                    env={**os.environ, "PYTHONUNBUFFERED": "1", "GGML_NO_BACKTRACE": "1"},
                )
        except OSError as error:
            raise RuntimeFailureError(f"cannot start llama-cpp-python's server (log {log_path}): "
                                      f"{error.strerror or error}") from None

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until_ready(self, timeout_seconds: float) -> float:
        """Seconds until the server answered /v1/models; raises (the server stopped) when it
        ends first or takes longer than `timeout_seconds`."""
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise self.failure("before it answered")
            if self._answers():
                return time.monotonic() - started
            if time.monotonic() - started > timeout_seconds:
                self.stop()
                raise RuntimeFailureError(
                    f"the server did not answer at {self.address.url} within "
                    f"{timeout_seconds:.0f} s of starting, so picker stopped it; see its log "
                    f"{self.log_path}, or allow longer with --load-timeout SECONDS")
            time.sleep(_POLL_SECONDS)

    def _answers(self) -> bool:
        try:
            with _DIRECT.open(self.address.models_url, timeout=1) as response:
                response.read()
            return True
        except urllib.error.HTTPError:
            return True  # it answered, if not with a list
        except (OSError, ValueError):
            return False

    def wait(self) -> int:
        """Until the server ends by itself (its exit status); Ctrl-C interrupts the wait."""
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return self.process.wait(timeout=_POLL_SECONDS)

    def failure(self, when: str) -> PickerError:
        """The one-line error for a server that ended by itself, from what its log says."""
        returncode = self.process.wait()
        lines = self._log_lines()
        if any("address already in use" in line.lower() for line in lines):
            return PortInUseError(
                f"port {self.address.port} on {self.address.host} was taken before the server "
                "could listen; choose another with --port N (--port 0 picks a free one)")
        how = f"llama-cpp-python's server {describe_exit(returncode)} {when}"
        found = failure_from_log(lines)
        if found is None:
            return RuntimeFailureError(f"{how}; see its log {self.log_path}")
        error_type = InsufficientResourcesError if found.kind == "memory" else RuntimeFailureError
        return error_type(f"{found.reason} ({how}; log: {self.log_path})")

    def _log_lines(self) -> list[str]:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return log.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def stop(self) -> None:
        """SIGTERM to the server's process group (uvicorn shuts down), SIGKILL after a few
        seconds; a second Ctrl-C (or SIGTERM, SIGHUP) meanwhile does not cut this short."""
        if self.process.returncode is not None and not self._group_alive():
            return
        names = ("SIGINT", "SIGTERM", "SIGHUP") if _in_main_thread() else ()
        previous = {signum: signal.signal(signum, signal.SIG_IGN)
                    for signum in (getattr(signal, name) for name in names if hasattr(signal, name))}
        try:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=_STOP_SECONDS)
            if self.process.poll() is None or self._group_alive():
                self._signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
                self.process.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.name == "posix":
                os.killpg(self.process.pid, signum)
            elif self.process.poll() is None:
                self.process.send_signal(signum)

    def _group_alive(self) -> bool:
        if os.name != "posix":
            return False
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


def _ends_with_parent() -> bool:
    """Linux ties the child to the thread that starts it: only the main thread lives as long
    as picker (a worker thread's end would stop the server)."""
    return sys.platform.startswith("linux") and _in_main_thread()


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
