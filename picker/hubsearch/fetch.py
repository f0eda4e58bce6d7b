"""What a listed repository holds, read before anything is downloaded.

Per repository: one file-metadata call (every file's size and sha256, `model_info`), the
files grouped into quantizations, and the GGUF header of one quantization (the default:
Q4_K_M or the type nearest it in bits per weight) by ranged reads of a few MB. Several
repositories are read at once by a small pool. The result is machine-independent plain
data (the header as its memory-plan shape), which is what the cache keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from picker.catalog.defaults import default_quant
from picker.catalog.types import QuantType
from picker.errors import PickerError
from picker.hubsearch.listing import Listing

if TYPE_CHECKING:
    from picker.hub.settings import HubSettings

HEADER_POOL_WORKERS = 4
Notice = Callable[[str], None]


def _header_document(repo_id: str, quant: str, files: Sequence[str], commit: str | None) -> dict[str, object]:
    from picker.catalog.from_gguf import parameter_count
    from picker.gguf.remote import read_hub_model
    from picker.hubsearch.shapes import shape_to_json
    from picker.memory.shape import shape_from_header

    model = read_hub_model(repo_id, files[0], commit)
    header = model.header
    name = header.metadata.get("general.name")
    return {
        "quant": quant,
        "file": files[0],
        "name": name[:200] if isinstance(name, str) else "",
        "architecture": header.architecture or "",
        "parameters": parameter_count(header),
        "bytes_read": sum(len(part.head_bytes) for part in model.parts),
        "shape": shape_to_json(shape_from_header(header)),
    }


def read_repo(listing: Listing, quant_types: Mapping[str, QuantType], *,
              all_headers: bool = False, settings: HubSettings | None = None) -> dict[str, object]:
    """The repository's quantizations (files, sizes, sha256) and the header(s) read; a
    failure (gated, gone, not a GGUF) becomes the document's one-line `problem`."""
    from picker.catalog.hubfiles import find_quantizations
    from picker.catalog.refresh import list_repo_files
    from picker.hub.settings import resolve_settings

    document: dict[str, Any] = {"planned": True, "commit": None, "quantizations": [],
                                "headers": [], "problem": None}
    settings = settings if settings is not None else resolve_settings()
    try:
        commit, files = list_repo_files(listing.repo_id, settings, None, skip_unsafe=True)
    except PickerError as error:
        document["problem"] = error.message
        return document
    found = find_quantizations(files, quant_types)
    document["commit"] = commit or None
    document["quantizations"] = [
        {"quant": f.quant, "files": list(f.files), "size_bytes": f.size_bytes, "sha256": list(f.sha256)}
        for f in found]
    if not found:
        document["problem"] = "no GGUF file named after a quantization type llama.cpp knows"
        return document
    chosen = default_quant([f.quant for f in found], quant_types)
    to_read = found if all_headers else [f for f in found if f.quant == chosen]
    for quant in to_read:
        try:
            document["headers"].append(
                _header_document(listing.repo_id, quant.quant, quant.files, commit or None))
        except PickerError as error:
            document["problem"] = error.message
            break
        except (ArithmeticError, ValueError, IndexError) as error:  # a header no model has
            document["problem"] = f"{quant.quant}: cannot plan from its header ({type(error).__name__})"
            break
    return document


def read_repos(listings: Sequence[Listing], quant_types: Mapping[str, QuantType], *,
               plan_repos: int, all_headers: bool = False) -> list[dict[str, object]]:
    """One document per listing: the first `plan_repos` read (in parallel), the rest listed only."""
    from picker.hub.settings import resolve_settings

    settings = resolve_settings()
    chosen = list(listings[:plan_repos])
    with ThreadPoolExecutor(max_workers=HEADER_POOL_WORKERS) as pool:
        read = list(pool.map(lambda listing: read_repo(listing, quant_types, all_headers=all_headers,
                                                       settings=settings), chosen))
    skipped: list[dict[str, Any]] = [
        {"planned": False, "commit": None, "quantizations": [], "headers": [], "problem": None}
        for _ in listings[plan_repos:]]
    return [{**listing.to_dict(), **details}
            for listing, details in zip(listings, [*read, *skipped], strict=True)]
