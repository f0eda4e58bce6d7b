"""`picker catalog refresh`: exact file lists, sizes and sha256 from the Hub.

One metadata call per GGUF repository (`model_info` with file metadata gives every
file's size and LFS sha256). The result goes to the overlay in the cache dir; the
shipped catalog is never changed, so an offline machine keeps working with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.catalog.hubfiles import FoundQuant, ListedFile, find_quantizations
from picker.catalog.overlay import read_overlay, write_overlay
from picker.catalog.types import Catalog, Model
from picker.errors import NetworkError, PickerError

if TYPE_CHECKING:
    from picker.hub.settings import HubSettings

Notice = Callable[[str], None]
HEADER_SOURCE = "hub-refresh"


@dataclass
class RefreshReport:
    path: Path
    refreshed: list[str] = field(default_factory=list)  # model ids with exact data now
    failed: dict[str, str] = field(default_factory=dict)  # model id -> one-line reason
    quantizations: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "overlay_path": str(self.path),
            "refreshed": self.refreshed,
            "failed": [{"id": k, "reason": v} for k, v in self.failed.items()],
            "quantizations": self.quantizations,
        }


def list_repo_files(repo: str, settings: HubSettings, notice: Notice | None,
                    skip_unsafe: bool = False) -> tuple[str, list[ListedFile]]:
    """(commit, files with sizes and LFS sha256) of a Hub repo; raises a PickerError, also on
    a file name that cannot be a path, unless `skip_unsafe` (a search) leaves such files out."""
    from huggingface_hub import HfApi

    from picker.hub.metadata import call_with_retries, where
    from picker.safenames import check_commit, check_repo_path, check_sha256, is_safe_repo_path

    api = HfApi(endpoint=settings.endpoint, token=settings.token or False)
    info = call_with_retries(
        lambda: api.model_info(repo, files_metadata=True),
        settings, where(settings, repo, "main", None), notice, retry_unreachable=False,
    )
    files: list[ListedFile] = []
    for sibling in info.siblings or []:
        lfs = sibling.lfs
        size = lfs.size if lfs is not None else sibling.size
        name = sibling.rfilename
        if size is None or not (isinstance(name, str) and name.lower().endswith(".gguf")):
            continue  # only GGUF files become catalog entries and paths: they alone are checked
        if skip_unsafe and not is_safe_repo_path(name):
            continue
        check_repo_path(name, repo)
        files.append(ListedFile(name, int(size), check_sha256(lfs.sha256, repo) if lfs else None))
    return (check_commit(info.sha, repo) if info.sha else ""), files


def _header_facts(repo: str, found: list[FoundQuant], settings: HubSettings) -> dict[str, object]:
    """Architecture and parameter count from the smallest quantization's GGUF header."""
    from picker.catalog.from_gguf import architecture_from_header, parameter_count
    from picker.gguf.remote import read_hub_header

    smallest = min(found, key=lambda f: f.size_bytes)
    header = read_hub_header(repo, smallest.files[0], endpoint=settings.endpoint,
                             token=settings.token)
    return {"architecture": architecture_from_header(header, HEADER_SOURCE),
            "parameters": parameter_count(header)}


def _entry(model: Model, commit: str, found: list[FoundQuant]) -> dict[str, object]:
    assert model.gguf is not None
    return {
        "repo": model.gguf.repo,
        "commit": commit,
        "quantizations": [
            {"quant": f.quant, "files": list(f.files), "size_bytes": f.size_bytes,
             "sha256": list(f.sha256)}
            for f in found
        ],
    }


def refresh_catalog(
    catalog: Catalog,
    cache_dir: Path,
    settings: HubSettings | None = None,
    notice: Notice | None = None,
    only: set[str] | None = None,
    headers: bool = False,
) -> RefreshReport:
    """Fetch every listed repo's files into the overlay; keeps what earlier runs found.

    With `headers`, also reads the smallest quantization's GGUF header (range requests,
    a few MB at most) so the architecture facts become exact too.
    Raises NetworkError (one line) when the Hub cannot be reached at all.
    """
    from picker.hub.settings import resolve_settings

    settings = settings if settings is not None else resolve_settings()
    previous = read_overlay(cache_dir) or {}
    kept = previous.get("models")
    entries: dict[str, Any] = dict(kept) if isinstance(kept, dict) else {}
    report = RefreshReport(path=cache_dir)
    reached = False
    for model in catalog.models:
        if model.gguf is None or (only is not None and model.id not in only):
            continue
        try:
            commit, files = list_repo_files(model.gguf.repo, settings, notice)
        except NetworkError as error:
            if not reached:
                raise NetworkError(
                    f"{error.message}; the shipped catalog (with any earlier refresh) stays in use"
                ) from None
            report.failed[model.id] = error.message
            continue
        except PickerError as error:
            reached = True
            report.failed[model.id] = error.message
            continue
        reached = True
        found = find_quantizations(files, catalog.quant_types)
        if not found:
            report.failed[model.id] = f"no GGUF quantizations found in {model.gguf.repo}"
            continue
        entry = _entry(model, commit, found)
        if headers:
            try:
                entry |= _header_facts(model.gguf.repo, found, settings)
            except (PickerError, ValueError) as error:
                report.failed[model.id] = f"header: {getattr(error, 'message', error)}"
        entries[model.id] = entry
        report.refreshed.append(model.id)
        report.quantizations += len(found)
    report.path = write_overlay(cache_dir, {
        "endpoint": settings.endpoint,
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "models": entries,
    })
    return report
