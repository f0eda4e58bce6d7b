"""The blocking work behind the app's actions (download, smoke test), run in worker threads.

Each calls the same core functions as the CLI command of the same name, so a
download or smoke test from the TUI is the one `picker download` / `picker smoke`
would do.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from picker.errors import NotFoundError
from picker.rank.records import RecommendationRecord


def local_copy(model_id: str, quant: str) -> Any:
    """The complete copy of MODEL:QUANT on disk (HF cache, picker's folder, LM Studio, Ollama), or None."""
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_copy

    return find_copy(load_catalog(), model_id, quant)


def download(target: str, on_progress: Any, cancel: threading.Event) -> Any:
    """`picker download TARGET` with progress sent to `on_progress`; setting `cancel` stops it.

    A cancelled download keeps its partial file, so the next download resumes.
    """
    from picker.errors import InterruptedByUserError
    from picker.hub import download_files
    from picker.targets import hub_files

    files = hub_files(target)
    outcome: list[Any] = []

    def progress(event: Any) -> None:
        if not cancel.is_set():  # nothing reaches the screen once the user has cancelled
            on_progress(event)

    def transfer() -> None:
        try:
            outcome.append(download_files(files, None, progress, cancel=cancel))
        except BaseException as error:  # handed to the waiting worker below
            outcome.append(error)

    # The transfer sees `cancel` between chunks, but a server that has not answered yet holds
    # it in a read for up to the read timeout (10 s); the user gets control back at once,
    # and the transfer ends on its own at its next check, its partial file kept.
    thread = threading.Thread(target=transfer, name="picker-download", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(timeout=0.1)
        if cancel.is_set() and thread.is_alive():
            raise InterruptedByUserError(
                f"cancelled; what arrived of {target} is kept and the next download resumes it")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def model_target(row: RecommendationRecord) -> Any:
    """The runtime's ModelTarget for a recommendation on disk, with its Hub identity, or None
    (the one `picker smoke MODEL:QUANT` finds: nothing is fetched, nothing prints)."""
    from picker.targets.on_disk import on_disk_target

    return on_disk_target(row.model_id, row.quant, row.repo)


def smoke(row: RecommendationRecord, cancel: threading.Event | None = None) -> Any:
    """`picker smoke` with the recommended settings, for a recommendation that is on disk;
    setting `cancel` stops it (the child is killed, nothing is recorded)."""
    from picker.commands.smoke import smoke_target
    from picker.llama_settings import LlamaSettings
    from picker.runtime.availability import require_llama_cpp
    from picker.runtime.smoke import SmokeRequest

    require_llama_cpp()
    target = model_target(row)
    if target is None:
        raise NotFoundError(f"{row.model_id}:{row.quant} is not on disk yet: press d to "
                            "download it first.")
    # The row's context and GPU layers; every other setting llama-cpp-python's default.
    request = SmokeRequest(settings=LlamaSettings(n_gpu_layers=runtime_gpu_layers(row)),
                           context=row.context, load_timeout_seconds=300.0)
    return smoke_target(target, request, cancel)


def runtime_gpu_layers(row: RecommendationRecord) -> int | None:
    """The row's GPU layers for picker's own runtime (smoke, chat, serve): None (its solver
    chooses) where the row keeps MoE experts on the CPU, which llama-cpp-python cannot; the
    row's llama-server line runs that plan."""
    return None if row.n_cpu_moe else row.n_gpu_layers


def model_path(row: RecommendationRecord) -> Path | None:
    copy = local_copy(row.model_id, row.quant)
    return copy.paths[0] if copy is not None else None
