"""The last answer to each search, kept with its date for when the Hub cannot be reached.

One JSON file per query (and Hub endpoint) in picker's cache dir, written whole through
`cachefiles`; never pickle. What is kept is machine-independent (listing, files, header
shapes), so an offline search still plans for the machine asked about. A cached file is
read back as untrusted: the same checks as a live answer, an invalid entry dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

from picker.hubsearch.listing import Listing, Query, parse_item

FORMAT_VERSION = 1
KIND = "picker-hub-search"
FOLDER = "hub-search"
KEEP_QUERIES = 64


def cache_path(cache_dir: Path, endpoint: str, query: Query) -> Path:
    from picker.cachefiles import checksum

    key = checksum([endpoint, json.dumps(query.to_dict(), sort_keys=True)])
    return cache_dir / FOLDER / f"{key}.json"


def write_results(cache_dir: Path, endpoint: str, query: Query, fetched_at: str,
                  repos: list[dict[str, object]]) -> bool:
    from picker.cachefiles import drop_older_copies, write_whole

    path = cache_path(cache_dir, endpoint, query)
    document = {"format": FORMAT_VERSION, "kind": KIND, "endpoint": endpoint,
                "query": query.to_dict(), "fetched_at": fetched_at, "repos": repos}
    written = write_whole(path, json.dumps(document, separators=(",", ":")).encode())
    if written:
        drop_older_copies(path, "*.json", KEEP_QUERIES)
    return written


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _checked_repo(raw: object) -> dict[str, object] | None:
    """A cached repository document, re-checked as a live answer would be; None if invalid."""
    from picker.safenames import is_safe_repo_path

    if not isinstance(raw, dict):
        return None
    listing: Listing | None = parse_item({
        "id": raw.get("repo_id"), "downloads": raw.get("downloads"), "likes": raw.get("likes"),
        "trendingScore": raw.get("trending"), "lastModified": raw.get("last_modified"),
        "gated": raw.get("gated"),
        "tags": [f"base_model:quantized:{b}" for b in raw.get("base_models") or [] if isinstance(b, str)],
        "siblings": [{"rfilename": f} for f in raw.get("gguf_files") or [] if isinstance(f, str)],
    })
    if listing is None:
        return None
    quantizations = []
    for quant in raw.get("quantizations") or []:
        if not isinstance(quant, dict):
            continue
        files = quant.get("files")
        if (isinstance(quant.get("quant"), str) and _count(quant.get("size_bytes"))
                and isinstance(files, list) and files
                and all(isinstance(f, str) and is_safe_repo_path(f) for f in files)):
            quantizations.append({"quant": quant["quant"], "files": files,
                                  "size_bytes": quant["size_bytes"], "sha256": []})
    headers = [h for h in raw.get("headers") or [] if isinstance(h, dict)
               and isinstance(h.get("quant"), str) and isinstance(h.get("file"), str)
               and is_safe_repo_path(h["file"])]
    problem = raw.get("problem")
    return {**listing.to_dict(), "planned": raw.get("planned") is True,
            "commit": None, "quantizations": quantizations,
            "headers": [{"quant": h["quant"], "file": h["file"], "shape": h.get("shape"),
                         **{k: h[k] if isinstance(h.get(k), str) else "" for k in ("name", "architecture")},
                         **{k: h[k] if _count(h.get(k)) else 0 for k in ("parameters", "bytes_read")}}
                        for h in headers],
            "problem": problem[:500] if isinstance(problem, str) else None}


def read_results(cache_dir: Path, endpoint: str,
                 query: Query) -> tuple[str, list[dict[str, object]]] | None:
    """(fetched_at, repository documents) of the last answer to `query`, or None when there is
    none or it is damaged."""
    from picker.cachefiles import read_json

    document = read_json(cache_path(cache_dir, endpoint, query))
    if (not isinstance(document, dict) or document.get("format") != FORMAT_VERSION
            or document.get("kind") != KIND or document.get("query") != query.to_dict()
            or not isinstance(document.get("repos"), list)):
        return None
    fetched_at = document.get("fetched_at")
    if not isinstance(fetched_at, str) or len(fetched_at) > 40 or not fetched_at[:4].isdigit():
        return None
    repos = [repo for raw in document["repos"] if (repo := _checked_repo(raw)) is not None]
    return fetched_at, repos
