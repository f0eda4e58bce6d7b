"""A stand-in for a Hub file on local disk: its header bytes, then a hole to its true size.

llama.cpp's no-alloc dry run reads only the header but checks that every tensor
lies within the file, so a sparse file of the full size (holding just the
header) lets `picker fit --exact` ask llama.cpp about a model before it is
downloaded. Only the header bytes travel: one ranged GET through
huggingface_hub's session, with its tokens, endpoint and proxies.
"""

from __future__ import annotations

from pathlib import Path

from picker.errors import NetworkError, UsageError
from picker.gguf import GGUFHeader


def _fetch_prefix(repo_id: str, filename: str, revision: str, length: int) -> bytes:
    import httpx2
    from huggingface_hub import get_session, hf_raise_for_status

    from picker.hub.metadata import call_with_retries, locate, where
    from picker.hub.settings import resolve_settings

    settings = resolve_settings()
    location = locate(settings, repo_id, revision, filename)
    headers = {**location.headers, "Accept-Encoding": "identity",
               "Range": f"bytes=0-{length - 1}"}

    def get() -> bytes:
        body = bytearray()
        with get_session().stream("GET", location.url, headers=headers, follow_redirects=True,
                                  timeout=httpx2.Timeout(settings.policy.read_timeout_seconds)
                                  ) as response:
            hf_raise_for_status(response)
            for chunk in response.iter_bytes():
                body += chunk[: length - len(body)]
                if len(body) >= length:
                    break
        return bytes(body)

    data = call_with_retries(get, settings, where(settings, repo_id, revision, filename))
    if len(data) < length:
        raise NetworkError(f"the Hub sent {len(data)} of the {length} header bytes of "
                           f"{repo_id}/{filename}; try again")
    return data


def sparse_copy(repo_id: str, filename: str, revision: str, header: GGUFHeader,
                folder: Path) -> Path:
    """Write `folder/<name>`: the header bytes of the Hub file, sparse up to its size."""
    if header.split_count > 1:
        raise UsageError("--exact for a split model on the Hub is not supported yet; "
                         "download it and give the first part's path")
    if not header.file_size_bytes:
        raise NetworkError(f"the Hub did not say how large {repo_id}/{filename} is")
    data = _fetch_prefix(repo_id, filename, revision, header.data_offset)
    path = folder / Path(filename).name
    with path.open("wb") as handle:
        handle.write(data)
        handle.truncate(header.file_size_bytes)
    return path
