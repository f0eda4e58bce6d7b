"""TARGET for smoke and chat: a local .gguf, an hf:// file, or a catalog id (MODEL:QUANT).

Hub files and catalog ids are downloaded first (through picker.hub, the same
resumable, verified path as `picker download`), after asking unless --yes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from picker.errors import NotFoundError, UsageError
from picker.safetext import escape_controls
from picker.units import format_size

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class ModelTarget:
    path: Path  # the file llama.cpp loads (a split model's first part)
    label: str  # what the user named
    hub_repo: str | None = None
    hub_filename: str | None = None
    hub_revision: str | None = None  # the commit the file came from
    sha256: str | None = None  # known without hashing (the Hub's LFS sha256)


def ask_on_terminal(question: str) -> bool:
    """y/N on the terminal; never asks when stdin is not one."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{escape_controls(question)} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def _is_remote(target: str) -> bool:
    """hf://... or MODEL:QUANT; a path (even C:\\models\\x.gguf) is local."""
    if target.startswith("hf://"):
        return True
    if ":" not in target or target.lower().endswith(".gguf"):
        return False
    return not Path(target).expanduser().exists()


def on_disk_target(model_id: str, quant: str, repo: str | None = None) -> ModelTarget | None:
    """The ModelTarget for a catalog quantization already on disk, with its Hub identity, or None.

    Built from the local copy, never by asking the Hub, so nothing is fetched (offline works);
    a copy in the Hugging Face cache keeps its repo, file, commit and sha256, so the history
    ties the measurement to the catalog entry (and the ranking finds it).
    """
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_copy
    from picker.history.fingerprint import sha256_from_hub_cache

    catalog = load_catalog()
    copy = find_copy(catalog, model_id, quant)
    if copy is None:
        return None
    path = copy.paths[0]
    label = f"{model_id}:{quant}"
    model = catalog.model(model_id)
    repo = repo or (model.gguf.repo if model is not None and model.gguf is not None else None)
    if copy.location == "local":  # `picker catalog add FILE`: its repo is the catalog's own
        return ModelTarget(path=path, label=label, hub_repo=repo, hub_filename=str(path))
    if copy.location != "hf-cache":
        return ModelTarget(path=path, label=label)
    revision = path.parent.name if path.parent.parent.name == "snapshots" else None
    return ModelTarget(path=path, label=label, hub_repo=repo, hub_filename=path.name,
                       hub_revision=revision, sha256=sha256_from_hub_cache(path))


def _on_disk_catalog_target(target: str) -> ModelTarget | None:
    """MODEL:QUANT resolved through the catalog to a copy on disk; None when it is not here."""
    if target.startswith("hf://"):
        return None
    from picker.catalog.hooks import resolve

    model, quant = resolve(target)
    return on_disk_target(model.id, quant.type)


def resolve_model(target: str, *, assume_yes: bool = False,
                  confirm: Confirm = ask_on_terminal) -> ModelTarget:
    """The local file for TARGET, downloading it first when it is not here yet."""
    if _is_remote(target):
        local = _on_disk_catalog_target(target)
        return local if local is not None else _download(target, assume_yes, confirm)
    path = Path(target).expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of a .gguf model file in it")
    if not path.is_file():
        raise NotFoundError(
            f"no such model file: {path}; give a .gguf path, hf://OWNER/REPO/FILE.gguf, "
            "or a catalog id with its quantization (MODEL:QUANT)"
        )
    _refuse_what_is_not_gguf(path)
    known = _catalog_identity(path)
    return ModelTarget(path=path, label=target) if known is None else replace(known, label=target)


def is_local(target: str) -> bool:
    """A path on this machine (nothing to download), not hf://... or MODEL:QUANT."""
    return not _is_remote(target)


def _refuse_what_is_not_gguf(path: Path) -> None:
    """A file that is not a GGUF at all stops here (exit 2), before llama.cpp's child starts
    or the history records anything; any other header problem is llama.cpp's to judge."""
    from picker.gguf import read_header
    from picker.gguf.model import GGUFError, NotGGUFError

    try:
        read_header(path)
    except NotGGUFError:
        raise
    except GGUFError:
        pass


def _catalog_identity(path: Path) -> ModelTarget | None:
    """A local file that is a catalog quantization on disk (added with `picker catalog add`,
    or in the HF cache) gets that entry's identity, so its measured speed reaches the ranking."""
    from picker.catalog import load_catalog
    from picker.catalog.ondisk import find_local_copies
    from picker.errors import PickerError

    try:
        resolved = path.resolve()
        copy = next((c for c in find_local_copies(load_catalog())
                     if c.paths and c.paths[0].resolve() == resolved), None)
    except (OSError, PickerError):  # an unreadable catalog never stops a local smoke test
        return None
    return on_disk_target(copy.model_id, copy.quant) if copy is not None else None


def _download(target: str, assume_yes: bool, confirm: Confirm) -> ModelTarget:
    from picker.commands.download import resolve_target
    from picker.hub import download_files
    from picker.hub.metadata import resolve_files
    from picker.hub.progress import StderrBar
    from picker.hub.settings import resolve_settings
    from picker.hub.storage import cache_layout

    files = resolve_target(target)
    settings = resolve_settings()
    remote_files, _location = resolve_files(files, settings)
    missing = [
        remote for remote in remote_files
        if not cache_layout(settings.cache_dir, remote).final_path.is_file()
    ]
    if missing and not assume_yes:
        size = format_size(sum(remote.size_bytes for remote in missing))
        question = f"{target} is not downloaded yet: download {size} from {files.repo_id}?"
        if not confirm(question):
            raise UsageError(f"{target} needs a download of {size}; run again with --yes to allow "
                             f"it, or fetch it first with `picker download {target}`")
    result = download_files(files, None, StderrBar())
    first = result.files[0]
    return ModelTarget(
        path=first.path, label=target, hub_repo=result.repo_id, hub_filename=first.filename,
        hub_revision=result.commit_hash, sha256=first.sha256,
    )
