"""Read a GGUF header straight from the Hugging Face Hub with HTTP range requests.

Only the header travels: one HEAD on the resolve URL (through huggingface_hub, so
tokens, HF_ENDPOINT and proxies behave as users expect; it also pins the commit),
then ranged GETs starting small and doubling until the tensor infos are complete.
A split model's parts are all read at that one commit and combined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from picker.errors import NetworkError
from picker.gguf.model import GGUFError, GGUFHeader
from picker.gguf.reader import parse_header
from picker.gguf.split import combine_parts, split_part_names

INITIAL_REMOTE_READ_BYTES = 1024 * 1024
LATER_PART_READ_BYTES = 64 * 1024  # parts after the first hold tensor infos only, no vocabulary

Retry = Callable[[Callable[[], bytes]], bytes]


class _RangeReader:
    """read_at(offset, length) over ranged GETs of one located file."""

    def __init__(self, url: str, headers: dict[str, str], timeout_seconds: float, retry: Retry) -> None:
        self.url = url
        self.headers = headers
        self.timeout_seconds = timeout_seconds
        self.retry = retry
        self.file_size: int | None = None
        self.prefix = b""  # the first range, fetched before parsing to learn the file size
        self.head = bytearray()  # every byte fetched from 0 on, in order: the header's bytes

    def prime(self, length: int) -> None:
        self.prefix = self.read_at(0, length)

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < len(self.prefix):
            return self.prefix[offset : offset + length]
        if self.file_size is not None and offset >= self.file_size:
            return b""
        data = self.retry(lambda: self.fetch(offset, length))
        if offset == len(self.head):
            self.head += data
        return data

    def fetch(self, offset: int, length: int) -> bytes:
        """One ranged GET; learns the file size from Content-Range (or Content-Length)."""
        import httpx2
        from huggingface_hub import get_session, hf_raise_for_status

        if self.file_size is not None:
            length = min(length, self.file_size - offset)
            if length <= 0:
                return b""
        headers = {
            **self.headers,
            "Accept-Encoding": "identity",
            "Range": f"bytes={offset}-{offset + length - 1}",
        }
        timeout = httpx2.Timeout(self.timeout_seconds)
        with get_session().stream(
            "GET", self.url, headers=headers, timeout=timeout, follow_redirects=True
        ) as response:
            if response.status_code == 416:  # the range starts at or past the end
                return b""
            hf_raise_for_status(response)
            skip = self._skip_and_size(response.status_code, response.headers, offset)
            body = bytearray()
            for chunk in response.iter_bytes():
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                body += chunk[: length - len(body)]
                if len(body) >= length:
                    break
        return bytes(body)

    def _skip_and_size(self, status: int, headers: Mapping[str, str], offset: int) -> int:
        """How many leading body bytes to drop (a server that ignores Range sends it all)."""
        get = headers.get
        if status == 206:
            content_range = str(get("Content-Range") or "")
            unit, _, spec = content_range.partition(" ")
            span, _, total = spec.partition("/")
            first = span.partition("-")[0]
            if unit != "bytes" or not first.isdigit() or int(first) != offset:
                raise NetworkError(
                    f"the Hub answered a range request for byte {offset} with "
                    f"Content-Range {content_range!r}; a proxy may be rewriting responses"
                )
            if total.isdigit():
                self.file_size = int(total)
            return 0
        length = str(get("Content-Length") or "")
        if length.isdigit():
            self.file_size = int(length)
        return offset


@dataclass(frozen=True)
class HubPart:
    """One file of a model on the Hub: its own header and the bytes fetched to read it."""

    filename: str
    header: GGUFHeader  # this file's own data_offset and file size
    head_bytes: bytes = field(repr=False)  # bytes [0, n) of the file, n >= the tensor infos' end


@dataclass(frozen=True)
class HubModel:
    """A model's combined header, and each part as fetched (`picker fit --exact` reuses the bytes)."""

    repo_id: str
    header: GGUFHeader
    parts: tuple[HubPart, ...]
    commit: str | None


def read_hub_header(
    repo_id: str,
    filename: str,
    revision: str | None = None,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    initial_read_bytes: int = INITIAL_REMOTE_READ_BYTES,
) -> GGUFHeader:
    """Header of `filename` in `repo_id` (all parts of a split model), header bytes only.

    token None means the user's own (HF_TOKEN or `hf auth login`); it is never printed.
    header_bytes_read is the number of bytes fetched over the network.
    """
    return read_hub_model(repo_id, filename, revision, endpoint=endpoint, token=token,
                          initial_read_bytes=initial_read_bytes).header


def read_hub_model(
    repo_id: str,
    filename: str,
    revision: str | None = None,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    initial_read_bytes: int = INITIAL_REMOTE_READ_BYTES,
) -> HubModel:
    """read_hub_header, keeping each part's own header and fetched bytes."""
    from picker.hub.failures import Where
    from picker.hub.metadata import call_with_retries, locate, where
    from picker.hub.settings import resolve_settings

    settings = resolve_settings(endpoint=endpoint, token=token)
    asked = revision or "main"
    names = split_part_names(filename) or [filename]
    if len(names) == 1:
        names = [filename]
    commit: str | None = None
    parts: list[HubPart] = []
    for name in names:
        # The first HEAD pins the commit; the other parts are read at that same commit.
        location = locate(settings, repo_id, commit or asked, name, retry_unreachable=False)
        commit = commit or location.commit_hash
        place = where(settings, repo_id, asked, name)

        def retry(action: Callable[[], bytes], place: Where = place) -> bytes:
            return call_with_retries(action, settings, place)

        reader = _RangeReader(location.url, location.headers, settings.policy.read_timeout_seconds, retry)
        first_read = initial_read_bytes if not parts else min(initial_read_bytes, LATER_PART_READ_BYTES)
        reader.prime(first_read)  # learns the file size, which bounds every check
        try:
            header = parse_header(reader.read_at, reader.file_size, initial_read_bytes=first_read)
        except GGUFError as e:
            raise e.with_source(f"hf://{repo_id}/{name}") from None
        parts.append(HubPart(name, header, bytes(reader.head)))
    combined = combine_parts([p.header for p in parts], [f"hf://{repo_id}/{n}" for n in names])
    return HubModel(repo_id, combined, tuple(parts), commit)
