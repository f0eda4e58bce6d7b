"""The Hub's model list (`GET /api/models`), filtered to GGUF repositories.

The request is the one `HfApi.list_models(filter=..., search=..., sort=..., limit=...,
expand=[...])` sends, and pages are followed by their `Link: <...>; rel="next"` header
as huggingface_hub does. The pages are fetched here rather than through `list_models`
because its retry loop waits about 23 s on an unreachable network (and multiplies a
429's Retry-After): picker's own policy gives up at once when nothing answers (so the
cached results can be shown) and retries 5xx and 429 a bounded number of times.

Everything the Hub sends is checked before it is kept: repository ids by the Hub's
naming rule, file names as repository paths, numbers as numbers; an item that fails is
dropped and counted, never printed raw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from picker.errors import NetworkError, UsageError
from picker.safenames import UntrustedValueError, check_repo_id, is_safe_repo_path

if TYPE_CHECKING:
    from picker.hub.settings import HubSettings

# `--sort` words and the Hub's own names for them.
SORT_KEYS = {"downloads": "downloads", "trending": "trendingScore", "likes": "likes"}
EXPAND = ["downloads", "likes", "trendingScore", "lastModified", "gated", "tags", "siblings"]
DEFAULT_LIMIT = 10
MAX_LIMIT = 100  # a search is for a person to read; the Hub's own page cap is 1000
MAX_FILES_PER_REPO = 2000
QUANTIZED_TAG = "base_model:quantized:"
SEARCH_ATTEMPTS = 3
MAX_RETRY_AFTER_SECONDS = 10.0

Notice = Callable[[str], None]


@dataclass(frozen=True)
class Query:
    """What was asked: words to find in repository ids, and/or the base model quantized."""

    search: str = ""
    base_model: str = ""  # OWNER/NAME: only GGUF quantizations of this model
    sort: str = "downloads"
    limit: int = DEFAULT_LIMIT

    def filters(self) -> list[str]:
        return ["gguf", *([QUANTIZED_TAG + self.base_model] if self.base_model else [])]

    def params(self) -> dict[str, object]:
        params: dict[str, Any] = {"filter": self.filters(), "sort": SORT_KEYS[self.sort],
                                  "limit": self.limit, "expand": EXPAND}
        if self.search:
            params["search"] = self.search
        return params

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Listing:
    """One GGUF repository as the Hub lists it (checked values only)."""

    repo_id: str
    downloads: int = 0
    likes: int = 0
    trending: int = 0
    last_modified: str = ""  # ISO date (YYYY-MM-DD) or ""
    gated: bool = False
    base_models: tuple[str, ...] = ()  # from base_model:quantized:OWNER/NAME tags
    gguf_files: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "base_models": list(self.base_models),
                "gguf_files": list(self.gguf_files)}


def check_query(query: Query) -> Query:
    """A query picker will send: words of sane length, a real OWNER/NAME, a known sort."""
    if query.sort not in SORT_KEYS:
        raise UsageError(f"--sort: use one of {', '.join(SORT_KEYS)}, not {query.sort!r}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise UsageError(f"--limit: give 1 to {MAX_LIMIT}, not {query.limit}")
    if len(query.search) > 200 or not query.search.isprintable():
        raise UsageError("the search words must be printable text of at most 200 characters")
    if query.base_model:
        check_repo_id(query.base_model)
    if not query.search.strip() and not query.base_model:
        raise UsageError("give words to search for, e.g. `picker search qwen3`, or "
                         "`picker search --for MODEL_ID`")
    return query


def _count(value: object) -> int:
    return value if type(value) is int and value >= 0 else 0


def _date(value: object) -> str:
    text = value if isinstance(value, str) else ""
    day = text[:10]
    digits = day.replace("-", "")
    return day if len(day) == 10 and day[4] == day[7] == "-" and digits.isdigit() else ""


def parse_item(item: object) -> Listing | None:
    """A listed repository, or None when its id is not a valid OWNER/NAME."""
    if not isinstance(item, dict):
        return None
    try:
        repo_id = check_repo_id(item.get("id"), from_user=False)
    except UntrustedValueError:
        return None
    raw_tags, siblings = item.get("tags"), item.get("siblings")
    tags = [t for t in raw_tags if isinstance(t, str)] if isinstance(raw_tags, list) else []
    bases: list[str] = []
    for tag in tags:
        if tag.startswith(QUANTIZED_TAG):
            try:
                bases.append(check_repo_id(tag[len(QUANTIZED_TAG):], from_user=False))
            except UntrustedValueError:
                continue
    if not isinstance(siblings, list):
        siblings = []
    names = [s.get("rfilename") for s in siblings[:MAX_FILES_PER_REPO] if isinstance(s, dict)]
    files = tuple(sorted(n for n in names if isinstance(n, str) and n.lower().endswith(".gguf")
                         and is_safe_repo_path(n)))
    gated = item.get("gated")
    return Listing(
        repo_id=repo_id, downloads=_count(item.get("downloads")), likes=_count(item.get("likes")),
        trending=_count(item.get("trendingScore")), last_modified=_date(item.get("lastModified")),
        gated=bool(gated) and gated not in ("false", "False"),
        base_models=tuple(dict.fromkeys(bases)), gguf_files=files)


def _pages(url: str, params: dict[str, Any] | None,
           settings: HubSettings) -> Iterator[tuple[list[Any], str | None]]:
    """(items, next url) per page; one GET each, retried by picker's bounded policy."""
    import httpx2
    from huggingface_hub import get_session, hf_raise_for_status

    from picker.hub.metadata import call_with_retries, hf_headers, where

    policy = dataclasses.replace(settings.policy, max_attempts=SEARCH_ATTEMPTS,
                                 max_retry_after_seconds=MAX_RETRY_AFTER_SECONDS)
    bounded = dataclasses.replace(settings, policy=policy)
    headers = hf_headers(settings)
    place = where(settings, "the model list", "main", None)
    timeout = httpx2.Timeout(settings.policy.connect_timeout_seconds,
                             read=settings.policy.read_timeout_seconds)
    next_url: str | None = url
    while next_url is not None:
        def get(page_url: str = next_url, page_params: dict[str, Any] | None = params) -> Any:
            response = get_session().get(page_url, params=page_params, headers=headers,
                                         timeout=timeout, follow_redirects=True)
            hf_raise_for_status(response)
            return response

        response = call_with_retries(get, bounded, place, retry_unreachable=False)
        try:
            items = response.json()
        except ValueError:
            raise NetworkError(f"{settings.endpoint} answered the model list with something that is "
                               "not JSON; check HF_ENDPOINT and any proxy in between") from None
        if not isinstance(items, list):
            raise NetworkError(f"{settings.endpoint} answered the model list with JSON that is not "
                               "a list; check HF_ENDPOINT")
        link = response.links.get("next", {}).get("url")
        next_url = link if isinstance(link, str) and _same_endpoint(link, settings.endpoint) else None
        params = None  # the next link carries the query
        yield items, next_url


def _same_endpoint(link: str, endpoint: str) -> bool:
    """Follow a next-page link only to the Hub asked (a token must not travel elsewhere)."""
    from picker.hub.metadata import same_origin

    return same_origin(link, endpoint)


def list_gguf_repos(query: Query, settings: HubSettings | None = None) -> tuple[list[Listing], int]:
    """The first `query.limit` GGUF repositories the Hub lists, and how many items were
    dropped as invalid. Raises NetworkError (exit 4) when the Hub cannot be reached or keeps
    failing, AccessDeniedError/NotFoundError as the Hub says."""
    from picker.hub.settings import offline_mode, resolve_settings

    check_query(query)
    if offline_mode():
        raise NetworkError("HF_HUB_OFFLINE is set, so the Hub was not asked; unset it to search")
    settings = settings if settings is not None else resolve_settings()
    found: list[Listing] = []
    dropped = 0
    for items, _ in _pages(f"{settings.endpoint}/api/models", query.params(), settings):
        for item in items:
            listing = parse_item(item)
            if listing is None:
                dropped += 1
            elif all(listing.repo_id != seen.repo_id for seen in found):
                found.append(listing)
            if len(found) >= query.limit:
                return found, dropped
    return found, dropped
