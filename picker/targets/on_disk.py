"""The file llama.cpp loads for a TARGET (smoke, chat, the TUI): on disk, or downloaded first.

Hub files and catalog ids are downloaded through picker.hub (the same resumable, verified
path as `picker download`), after asking (`confirm`) unless `assume_yes`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from picker.errors import NotFoundError, UsageError
from picker.safetext import escape_controls
from picker.targets import CatalogTarget, HubTarget, LocalTarget, kind_of, read_target
from picker.units import format_size

# Asked "download N GB from REPO?"; True goes ahead.
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


def is_local(text: str) -> bool:
    """A path on this machine (nothing to download), not hf://... or MODEL:QUANT."""
    return kind_of(text) in ("path", "word")


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


def resolve_model(text: str, *, assume_yes: bool = False,
                  confirm: Confirm = ask_on_terminal) -> ModelTarget:
    """The local file for TARGET, downloading it first when it is not here yet."""
    if not is_local(text):
        target = read_target(text)
        assert not isinstance(target, LocalTarget)  # is_local() said so
        if isinstance(target, CatalogTarget):
            local = on_disk_target(target.model.id, target.quant.type)
            if local is not None:
                return local
        return _download(target, assume_yes, confirm)
    path = Path(text).expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of a .gguf model file in it")
    if not path.is_file():
        raise NotFoundError(
            f"no such model file: {path}; give a .gguf path, hf://OWNER/REPO/FILE.gguf, "
            "or a catalog id with its quantization (MODEL:QUANT)"
        )
    _refuse_what_is_not_gguf(path)
    known = _catalog_identity(path)
    return ModelTarget(path=path, label=text) if known is None else replace(known, label=text)


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


def _download(target: HubTarget | CatalogTarget, assume_yes: bool,
              confirm: Confirm) -> ModelTarget:
    from picker.catalog.hooks import files_of
    from picker.hub import download_files
    from picker.hub.metadata import resolve_files
    from picker.hub.progress import StderrBar
    from picker.hub.settings import resolve_settings
    from picker.hub.storage import cache_layout

    files = target.files if isinstance(target, HubTarget) else files_of(target.model, target.quant)
    label = target.text
    settings = resolve_settings()
    remote_files, _location = resolve_files(files, settings)
    missing = [
        remote for remote in remote_files
        if not cache_layout(settings.cache_dir, remote).final_path.is_file()
    ]
    if missing and not assume_yes:
        size = format_size(sum(remote.size_bytes for remote in missing))
        question = f"{label} is not downloaded yet: download {size} from {files.repo_id}?"
        if not confirm(question):
            raise UsageError(f"{label} needs a download of {size}; run again with --yes to allow "
                             f"it, or fetch it first with `picker download {label}`")
    result = download_files(files, None, StderrBar())
    first = result.files[0]
    return ModelTarget(
        path=first.path, label=label, hub_repo=result.repo_id, hub_filename=first.filename,
        hub_revision=result.commit_hash, sha256=first.sha256,
    )
