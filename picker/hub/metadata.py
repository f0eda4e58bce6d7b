"""What the Hub says about the files: commit, size, LFS sha256, and where to GET the bytes.

One HEAD on the resolve URL (as `hf_hub_download` does) pins the commit and classifies
access errors early and without retries when the Hub cannot be reached at all; one
`get_paths_info` call then gives every file's size and LFS sha256.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from picker.errors import NotFoundError, PickerError, RuntimeFailureError
from picker.hub.failures import Where, is_retryable, is_unreachable, translate
from picker.hub.settings import HubSettings, offline_mode
from picker.hub.target import HubFiles
from picker.safenames import check_commit, check_git_oid, check_sha256

if TYPE_CHECKING:
    from huggingface_hub import HfFileMetadata

T = TypeVar("T")
RetryNotice = Callable[[str], None]


@dataclass(frozen=True)
class RemoteFile:
    repo_id: str
    filename: str
    revision: str  # as asked (branch, tag or commit)
    commit_hash: str
    size_bytes: int
    sha256: str | None  # the LFS sha256; None only for small files kept in git itself
    git_oid: str  # git blob id; for LFS files, the pointer's

    @property
    def content_id(self) -> str:
        """The name huggingface_hub gives the blob: the sha256 for LFS files, else the git id."""
        return self.sha256 or self.git_oid


def where(settings: HubSettings, repo_id: str, revision: str, filename: str | None) -> Where:
    return Where(settings.endpoint, repo_id, revision, filename, settings.token_sent)


def call_with_retries(
    action: Callable[[], T],
    settings: HubSettings,
    place: Where,
    notice: RetryNotice | None = None,
    retry_unreachable: bool = True,
) -> T:
    """Run one Hub call, retrying 5xx and transient network errors per the policy."""
    policy = settings.policy
    failures = 0
    while True:
        try:
            return action()
        except PickerError:
            raise
        except Exception as error:
            retryable = is_retryable(error) and (retry_unreachable or not is_unreachable(error))
            failures += 1
            if not retryable or failures >= policy.max_attempts:
                raise translate(error, place, failures) from None
            wait = policy.wait_seconds(failures, error)
            if notice is not None:
                notice(
                    f"{type(error).__name__} from the Hub; retrying in {wait:.1f} s "
                    f"({failures + 1}/{policy.max_attempts})"
                )
            policy.sleep(wait)


def hf_headers(settings: HubSettings) -> dict[str, str]:
    from huggingface_hub.utils._headers import build_hf_headers

    from picker import __version__

    headers = build_hf_headers(
        token=settings.token or False,
        library_name="picker",
        library_version=__version__,
    )
    return dict(headers)


def resolve_url(settings: HubSettings, repo_id: str, revision: str, filename: str) -> str:
    from huggingface_hub import constants, hf_hub_url

    url = hf_hub_url(repo_id, filename, revision=revision)
    return settings.endpoint + url[len(constants.ENDPOINT) :]


def same_origin(first: str, second: str) -> bool:
    a, b = urlsplit(first), urlsplit(second)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


@dataclass(frozen=True)
class Location:
    """Where to GET one file's bytes, and the headers to send there (no token off the Hub)."""

    url: str
    headers: dict[str, str] = field(repr=False)  # may carry the token: never printed
    commit_hash: str | None = None


def locate(
    settings: HubSettings,
    repo_id: str,
    revision: str,
    filename: str,
    notice: RetryNotice | None = None,
    retry_unreachable: bool = True,
    retries: bool = True,
) -> Location:
    """HEAD the resolve URL: commit hash, and the CDN location large files redirect to.

    With `retries=False` huggingface_hub's own exceptions reach the caller, which retries.
    """
    from huggingface_hub import get_hf_file_metadata

    if offline_mode():
        from huggingface_hub.errors import OfflineModeIsEnabled

        raise translate(OfflineModeIsEnabled("offline"), where(settings, repo_id, revision, filename))
    url = resolve_url(settings, repo_id, revision, filename)
    headers = hf_headers(settings)

    def head() -> HfFileMetadata:
        return get_hf_file_metadata(
            url,
            token=settings.token or False,
            timeout=settings.policy.connect_timeout_seconds,
            headers=headers,
            endpoint=settings.endpoint,
        )

    place = where(settings, repo_id, revision, filename)
    metadata = call_with_retries(head, settings, place, notice, retry_unreachable) if retries else head()
    if metadata.commit_hash is None:
        raise RuntimeFailureError(
            f"{settings.endpoint} answered without an X-Repo-Commit header, so it is not a Hugging "
            "Face Hub; check HF_ENDPOINT and any proxy in between"
        )
    commit = check_commit(metadata.commit_hash, repo_id)  # it names the snapshot folder
    download_headers = dict(headers)
    if not same_origin(url, metadata.location):
        download_headers.pop("authorization", None)
        download_headers.pop("Authorization", None)
    return Location(metadata.location, download_headers, commit)


def resolve_files(
    files: HubFiles, settings: HubSettings, notice: RetryNotice | None = None
) -> tuple[list[RemoteFile], Location]:
    """Every file's size and sha256 at one commit, plus the location of the first file."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    first = locate(
        settings, files.repo_id, files.revision, files.filenames[0], notice, retry_unreachable=False
    )
    commit = first.commit_hash
    assert commit is not None
    api = HfApi(endpoint=settings.endpoint, token=settings.token or False)
    infos = call_with_retries(
        lambda: api.get_paths_info(files.repo_id, list(files.filenames), revision=commit),
        settings,
        where(settings, files.repo_id, files.revision, None),
        notice,
    )
    by_path = {info.path: info for info in infos if isinstance(info, RepoFile)}
    remote: list[RemoteFile] = []
    for filename in files.filenames:
        info = by_path.get(filename)
        if info is None:
            raise NotFoundError(
                f"{filename} not found in {files.repo_id} at {files.revision}; see the file list at "
                f"{settings.endpoint}/{files.repo_id}/tree/{files.revision}"
            )
        lfs = info.lfs
        remote.append(
            RemoteFile(
                repo_id=files.repo_id,
                filename=filename,
                revision=files.revision,
                commit_hash=commit,
                size_bytes=int(lfs.size if lfs is not None else info.size),
                sha256=check_sha256(lfs.sha256, files.repo_id) if lfs is not None else None,
                git_oid=check_git_oid(info.blob_id, files.repo_id),
            )
        )
    return remote, first
