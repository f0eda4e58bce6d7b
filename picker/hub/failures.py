"""huggingface_hub and httpx errors turned into picker errors: one line each, saying what to do.

The token itself never appears in a message; only whether one was sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from picker.errors import ExitCode, NetworkError, NotFoundError, PickerError

LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN to an access token"


class AccessDeniedError(PickerError):
    """A gated or private repo this user (or anonymous user) may not read."""

    exit_code = ExitCode.NOT_FOUND
    code = "access_denied"


class ServerError(NetworkError):
    """The Hub kept answering 5xx after our retries."""

    code = "server_error"


@dataclass(frozen=True)
class Where:
    """What was being fetched, for the messages."""

    endpoint: str
    repo_id: str
    revision: str
    filename: str | None = None
    token_sent: bool = False


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(error: BaseException) -> bool:
    """Transient: dropped connections, timeouts, 5xx, 408 and 429."""
    import httpx2

    if isinstance(error, httpx2.TransportError):
        return True
    status = _status(error)
    return status is not None and (status >= 500 or status in (408, 429))


def is_hub_error(error: BaseException) -> bool:
    """Raised by huggingface_hub or httpx about the Hub (as opposed to a bug elsewhere)."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    return isinstance(
        error,
        (httpx2.HTTPError, hf_errors.HfHubHTTPError, hf_errors.EntryNotFoundError,
         hf_errors.OfflineModeIsEnabled),
    )


def is_unreachable(error: BaseException) -> bool:
    import httpx2

    return isinstance(error, httpx2.TransportError)


def translate(error: BaseException, where: Where, attempts: int = 1) -> PickerError:
    """The picker error for a failure of huggingface_hub or httpx while talking to the Hub."""
    import httpx2
    from huggingface_hub import errors as hf_errors

    repo_url = f"{where.endpoint.rstrip('/')}/{where.repo_id}"
    file_part = f" file {where.filename}" if where.filename else ""
    if isinstance(error, hf_errors.OfflineModeIsEnabled):
        return NetworkError("HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it and retry")
    if isinstance(error, hf_errors.GatedRepoError):
        if where.token_sent:
            return AccessDeniedError(
                f"{where.repo_id} is gated and your token has no access yet: request access at "
                f"{repo_url} with that account, wait for approval, then retry"
            )
        return AccessDeniedError(
            f"{where.repo_id} is gated: accept its terms at {repo_url}, then {LOGIN_HINT} and retry"
        )
    if isinstance(error, hf_errors.RevisionNotFoundError):
        return NotFoundError(
            f"revision {where.revision!r} not found in {where.repo_id}; "
            "use a branch, tag or commit that exists (the default is main)"
        )
    if isinstance(error, hf_errors.EntryNotFoundError):
        return NotFoundError(
            f"{where.filename or 'file'} not found in {where.repo_id} at {where.revision}; "
            f"see the file list at {repo_url}/tree/{where.revision}"
        )
    if isinstance(error, hf_errors.RepositoryNotFoundError):
        if where.token_sent:
            return NotFoundError(
                f"repo {where.repo_id} not found on {where.endpoint}, or your token cannot read it; "
                "check the name, or use a token of an account with access"
            )
        return NotFoundError(
            f"repo {where.repo_id} not found on {where.endpoint} (if it is private, {LOGIN_HINT})"
        )
    status = _status(error)
    if status in (401, 403):
        return AccessDeniedError(
            f"the Hub refused access to{file_part} in {where.repo_id} (HTTP {status}); {LOGIN_HINT}"
            " with an account that can read it"
        )
    if status == 404:
        return NotFoundError(f"{where.filename or where.repo_id} not found on {where.endpoint} (HTTP 404)")
    if status is not None and (status >= 500 or status in (408, 429)):
        return ServerError(
            f"the Hub answered HTTP {status} for{file_part or ' ' + where.repo_id} "
            f"{attempts} time(s); it is having trouble, try again in a few minutes"
        )
    if status is not None:
        return NetworkError(f"the Hub answered HTTP {status} for{file_part or ' ' + where.repo_id}")
    if isinstance(error, httpx2.TimeoutException):
        return NetworkError(
            f"the Hub at {where.endpoint} did not answer in time ({attempts} attempt(s)); "
            "check your network connection or proxy and retry"
        )
    if isinstance(error, httpx2.TransportError):
        return NetworkError(
            f"cannot reach the Hub at {where.endpoint} ({type(error).__name__}); check your network "
            "connection, proxy settings or HF_ENDPOINT and retry"
        )
    return NetworkError(f"talking to the Hub at {where.endpoint} failed: {type(error).__name__}")
