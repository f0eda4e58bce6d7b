"""Endpoint, cache folder, token and retry policy, read when a download starts (not at import).

huggingface_hub reads HF_ENDPOINT and HF_HOME once, at import; picker reads them per
download so a long-lived process (the TUI, the tests) follows the environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying when the connection drops or the Hub answers 5xx.

    Waits double from `first_wait_seconds` up to `max_wait_seconds`; the attempt count
    resets whenever bytes arrive, so a flaky link still finishes. Worst case before
    giving up: 0.5 + 1 + 2 + 4 = 7.5 s of (reported) waiting, never a silent 20 s.
    """

    max_attempts: int = 5
    first_wait_seconds: float = 0.5
    max_wait_seconds: float = 4.0
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    max_retry_after_seconds: float = 60.0  # a 429's Retry-After is honoured up to this
    # A stall: fewer than `stall_min_bytes` arrived in the last `stall_seconds` (a server that
    # trickles a byte a second never trips the read timeout). Treated as a dropped connection.
    stall_seconds: float = 60.0
    stall_min_bytes: int = 64 * 1024

    def wait_seconds(self, failed_attempts: int, error: BaseException | None = None) -> float:
        """The doubling wait, or what a rate-limited (429) answer's Retry-After asks for."""
        response: Any = getattr(error, "response", None)
        if getattr(response, "status_code", None) == 429:
            try:
                asked = float(response.headers.get("Retry-After", ""))
            except (TypeError, ValueError):
                asked = 0.0
            if asked > 0:
                return min(asked, self.max_retry_after_seconds)
        return float(min(self.max_wait_seconds, self.first_wait_seconds * 2 ** (failed_attempts - 1)))


@dataclass(frozen=True)
class HubSettings:
    endpoint: str
    cache_dir: Path
    token: str | None = field(default=None, repr=False)  # never printed
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def token_sent(self) -> bool:
        return bool(self.token)


def default_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def default_cache_dir() -> Path:
    """The standard Hugging Face hub cache, by the same rules huggingface_hub applies."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(variable)
        if value:
            return Path(os.path.expandvars(value)).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(os.path.expandvars(home)).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def default_token() -> str | None:
    """HF_TOKEN, or the token saved by `hf auth login` (huggingface_hub's own lookup)."""
    from huggingface_hub import get_token

    return get_token()


def resolve_settings(
    endpoint: str | None = None,
    cache_dir: Path | None = None,
    token: str | None = None,
    policy: RetryPolicy | None = None,
) -> HubSettings:
    return HubSettings(
        endpoint=(endpoint or default_endpoint()).rstrip("/"),
        cache_dir=cache_dir if cache_dir is not None else default_cache_dir(),
        token=token if token is not None else default_token(),
        policy=policy if policy is not None else default_policy(),
    )


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def default_policy() -> RetryPolicy:
    """Timeouts from huggingface_hub's own variables (HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT)."""
    return RetryPolicy(
        connect_timeout_seconds=_seconds("HF_HUB_ETAG_TIMEOUT", 10.0),
        read_timeout_seconds=_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10.0),
    )


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
