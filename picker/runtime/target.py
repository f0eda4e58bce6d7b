"""TARGET for smoke and chat: a local .gguf, an hf:// file, or a catalog id (MODEL:QUANT).

Hub files and catalog ids are downloaded first (through picker.hub, the same
resumable, verified path as `picker download`), after asking unless --yes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
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


def resolve_model(target: str, *, assume_yes: bool = False,
                  confirm: Confirm = ask_on_terminal) -> ModelTarget:
    """The local file for TARGET, downloading it first when it is not here yet."""
    if _is_remote(target):
        return _download(target, assume_yes, confirm)
    path = Path(target).expanduser()
    if not path.is_file():
        raise NotFoundError(
            f"no such model file: {path}; give a .gguf path, hf://OWNER/REPO/FILE.gguf, "
            "or a catalog id with its quantization (MODEL:QUANT)"
        )
    return ModelTarget(path=path, label=target)


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
