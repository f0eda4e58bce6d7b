"""One search: the Hub's answer (listing, files, headers) kept with its date, or, when the Hub
cannot be reached, the last answer kept for the same query with that date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from picker.errors import NetworkError
from picker.hubsearch.listing import Query

if TYPE_CHECKING:
    from collections.abc import Mapping

    from picker.catalog.types import QuantType
    from picker.hardware.model import HardwareSnapshot


class Found(NamedTuple):
    source: str  # "live" or "cache"
    fetched_at: str  # ISO time of the Hub's answer (UTC)
    endpoint: str
    repos: list[dict[str, Any]]  # machine-independent documents (see fetch.py)
    warnings: list[str]


def find(query: Query, cache_dir: Path, *, plan_repos: int, all_headers: bool,
         quant_types: Mapping[str, QuantType]) -> Found:
    """Ask the Hub; on a network failure (or HF_HUB_OFFLINE) fall back to the cached answer.
    Raises NetworkError (exit 4) when there is neither."""
    from picker.hub.settings import default_endpoint
    from picker.hubsearch.cache import read_results, write_results
    from picker.hubsearch.fetch import read_repos
    from picker.hubsearch.listing import list_gguf_repos

    endpoint = default_endpoint()
    try:
        listings, dropped = list_gguf_repos(query)
    except NetworkError as error:
        cached = read_results(cache_dir, endpoint, query)
        if cached is None:
            raise NetworkError(f"{error.message}; no earlier results of this search are kept "
                               "to show instead") from None
        fetched_at, repos = cached
        return Found("cache", fetched_at, endpoint, repos,
                     [f"{error.message}; showing the results kept from {fetched_at[:16]} UTC"])
    fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    repos = read_repos(listings, quant_types, plan_repos=plan_repos, all_headers=all_headers)
    write_results(cache_dir, endpoint, query, fetched_at, repos)
    warnings = ([f"the Hub listed {dropped} item(s) with an invalid repository id; left out"]
                if dropped else [])
    return Found("live", fetched_at, endpoint, repos, warnings)


def kept(query: Query, cache_dir: Path) -> Found | None:
    """The last answer kept for `query`, without asking the Hub (for `catalog show`)."""
    from picker.hub.settings import default_endpoint
    from picker.hubsearch.cache import read_results

    endpoint = default_endpoint()
    cached = read_results(cache_dir, endpoint, query)
    return None if cached is None else Found("cache", cached[0], endpoint, cached[1], [])


def other_sources(base_model: str, cache_dir: Path) -> dict[str, object] | None:
    """"Other GGUF sources" of a catalog model as `picker search --for ID` (its defaults) last
    found them, or None before any such search. Never asks the Hub."""
    found = kept(Query(base_model=base_model), cache_dir)
    if found is None:
        return None
    repos = [{key: repo[key] for key in ("repo_id", "downloads", "likes", "gated", "last_modified")}
             for repo in found.repos]
    return {"fetched_at": found.fetched_at, "endpoint": found.endpoint, "repos": repos}


def search_document(query: Query, snapshot: HardwareSnapshot, machine: str, *, n_ctx: int | None = None,
                    plan_repos: int = 3, all_headers: bool = False) -> tuple[dict[str, object], list[str]]:
    """The whole search, as `picker search --json` prints it and the TUI shows it: the Hub's
    answer (or the kept one) planned for `snapshot`, and the warnings to show."""
    from picker.catalog import load_catalog
    from picker.hubsearch.plan import plan_results
    from picker.paths import picker_paths

    catalog = load_catalog()
    found = find(query, picker_paths().cache_dir, plan_repos=plan_repos, all_headers=all_headers,
                 quant_types=catalog.quant_types)
    document: dict[str, object] = {
        "query": query.to_dict(), "source": found.source, "fetched_at": found.fetched_at,
        "endpoint": found.endpoint, "machine": machine,
        "results": plan_results(found.repos, snapshot, n_ctx, catalog),
    }
    return document, [*found.warnings, *catalog.warnings]


def query_for_model(model_id: str, sort: str, limit: int) -> Query:
    """The Hub query for "other GGUF sources" of a catalog model (as `catalog show` reads it)."""
    from picker.catalog import load_catalog
    from picker.errors import NotFoundError, UsageError
    from picker.hubsearch.listing import check_query

    model = load_catalog().model(model_id)
    if model is None:
        raise NotFoundError(f"no open catalog model {model_id!r}; see `picker catalog list`")
    if not model.hf_repo:
        raise UsageError(f"{model.id} names no original Hub repository to find quantizations of")
    return check_query(Query(base_model=model.hf_repo, sort=sort, limit=limit))
