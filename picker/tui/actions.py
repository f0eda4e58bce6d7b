"""The blocking work behind the app's actions (download, smoke test), run in worker threads.

Each calls the same core functions as the CLI command of the same name, so a
download or smoke test from the TUI is the one `picker download` / `picker smoke`
would do.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from picker.errors import NotFoundError


def local_copy(model_id: str, quant: str) -> Any:
    """The complete copy of MODEL:QUANT on disk (HF cache, picker's folder, LM Studio, Ollama), or None."""
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_local_copies

    wanted = quant.upper()
    copies = find_local_copies(load_catalog())
    return next((c for c in copies if c.model_id == model_id and c.quant.upper() == wanted), None)


def download(target: str, on_progress: Any, cancel: threading.Event) -> Any:
    """`picker download TARGET` with progress sent to `on_progress`; setting `cancel` stops it.

    A cancelled download keeps its partial file, so the next download resumes.
    """
    from picker.commands.download import resolve_target
    from picker.hub import download_files

    return download_files(resolve_target(target), None, on_progress, cancel=cancel)


def model_target(row: dict[str, Any]) -> Any:
    """The runtime's ModelTarget for a recommendation on disk, with its Hub identity, or None.

    Built from the local copy, never by asking the Hub, so nothing is fetched and nothing
    prints over the screen; a copy in the Hugging Face cache keeps its repo, file, commit
    and sha256, so the history ties the measurement to the catalog entry.
    """
    from picker.history.fingerprint import sha256_from_hub_cache
    from picker.runtime.target import ModelTarget

    copy = local_copy(str(row["model_id"]), str(row["quant"]))
    if copy is None:
        return None
    path = copy.paths[0]
    label = f"{row['model_id']}:{row['quant']}"
    if copy.location != "hf-cache":
        return ModelTarget(path=path, label=label)
    revision = path.parent.name if path.parent.parent.name == "snapshots" else None
    return ModelTarget(path=path, label=label, hub_repo=row.get("repo"),
                       hub_filename=path.name, hub_revision=revision,
                       sha256=sha256_from_hub_cache(path))


def smoke(row: dict[str, Any]) -> Any:
    """`picker smoke` with the recommended settings, for a recommendation that is on disk."""
    from picker.commands.smoke import smoke_target
    from picker.runtime.availability import require_llama_cpp

    require_llama_cpp()
    target = model_target(row)
    if target is None:
        raise NotFoundError(f"{row['model_id']}:{row['quant']} is not on disk yet: press d to "
                            "download it first.")
    args = argparse.Namespace(
        ctx=row.get("context"), n_gpu_layers=row.get("n_gpu_layers"), n_ubatch=512,
        flash_attn=False, cache_type_k="f16", cache_type_v="f16", load_timeout=300.0,
        generation_timeout=300.0, force=False, json=True,
    )
    return smoke_target(target, args)


def model_path(row: dict[str, Any]) -> Path | None:
    copy = local_copy(str(row["model_id"]), str(row["quant"]))
    return copy.paths[0] if copy is not None else None
