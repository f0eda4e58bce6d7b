"""A stand-in for a model on the Hub on local disk: each file's header bytes, then a hole.

llama.cpp's no-alloc dry run reads only the header but checks that every tensor
lies within its file, so a sparse file of the full size (holding just the header)
lets `picker fit --exact` ask llama.cpp about a model before it is downloaded.
A split model gets one such file per part, under the parts' own names in one
folder: llama.cpp opens parts 2..N by name next to the first
(`PREFIX-%05d-of-%05d.gguf`). Nothing is fetched here: the bytes are those the
header reader already fetched (picker.gguf.remote.read_hub_model).
"""

from __future__ import annotations

import errno
from pathlib import Path, PurePosixPath

from picker.errors import InsufficientResourcesError, NetworkError, UsageError
from picker.gguf.remote import HubModel


def sparse_copy(model: HubModel, folder: Path) -> Path:
    """Write every part into `folder` (header bytes, sparse up to its size); the first part's path."""
    paths: list[Path] = []
    for part in model.parts:
        header = part.header
        if not header.file_size_bytes:
            raise NetworkError(f"the Hub did not say how large {model.repo_id}/{part.filename} is; "
                               "try again")
        path = folder / PurePosixPath(part.filename).name
        try:
            with path.open("wb") as handle:
                # Bytes past the tensor infos up to data_offset are alignment padding: zeros,
                # which the hole reads as.
                handle.write(part.head_bytes[: header.data_offset])
                handle.truncate(header.file_size_bytes)
        except OSError as e:
            problem = f"cannot write a sparse stand-in for {part.filename} in {folder}"
            if e.errno in (errno.ENOSPC, errno.EFBIG):
                raise InsufficientResourcesError(
                    f"{problem}: {e.strerror} (the filesystem may not keep sparse files); "
                    "set TMPDIR to a folder on another disk") from None
            raise UsageError(f"{problem}: {e.strerror or e}; set TMPDIR to a writable "
                             "folder") from None
        paths.append(path)
    return paths[0]
