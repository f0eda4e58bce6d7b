"""What to download: `hf://OWNER/REPO/FILE.gguf[@REVISION]`, expanded to every part of a split model.

Catalog ids (`MODEL_ID:QUANT`) are resolved elsewhere (the catalog knows the repo and
file names); it hands a `HubFiles` to `picker.hub.download_files`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from picker.errors import UsageError
from picker.safenames import check_repo_id, check_repo_path, check_revision

SCHEME = "hf://"
_SPLIT_RE = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HubFiles:
    """Files of one repo at one revision; `expected_sizes` (bytes) are the catalog's hint, if any."""

    repo_id: str
    filenames: tuple[str, ...]
    revision: str = "main"
    expected_sizes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Names from a user, a catalog or a Hub listing become paths: checked here, once."""
        check_repo_id(self.repo_id)
        for filename in self.filenames:
            check_repo_path(filename, self.repo_id, from_user=True)
        check_revision(self.revision, self.repo_id)


def split_parts(filename: str) -> tuple[str, ...]:
    """All parts of a llama.cpp split (`x-00001-of-00003.gguf`), or just the file itself."""
    folder, _, name = filename.rpartition("/")
    match = _SPLIT_RE.match(name)
    if match is None:
        return (filename,)
    count = int(match.group("count"))
    index = int(match.group("index"))
    if count < 1 or not 1 <= index <= count:
        return (filename,)
    prefix = f"{folder}/" if folder else ""
    stem = match.group("stem")
    return tuple(f"{prefix}{stem}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1))


def parse_target(target: str) -> HubFiles:
    """Parse `hf://OWNER/REPO/PATH/FILE.gguf[@REVISION]` (a split part brings all its parts)."""
    example = "hf://OWNER/REPO/FILE.gguf[@REVISION], e.g. hf://ggml-org/gemma-3-270m-GGUF/gemma-3-270m-Q8_0.gguf"
    if not target.startswith(SCHEME):
        raise UsageError(f"cannot read target {target!r}; use {example}")
    rest = target[len(SCHEME) :]
    revision = "main"
    if "@" in rest:
        rest, _, revision = rest.rpartition("@")
        if not revision.strip():
            raise UsageError(f"target {target!r} has an empty revision after '@'; use {example}")
    parts = rest.split("/")
    if len(parts) < 3 or any(not part for part in parts):
        raise UsageError(f"target {target!r} needs an owner, a repo and a file; use {example}")
    owner, repo = parts[0], parts[1]
    for name in (owner, repo):
        if not _NAME_RE.match(name) or ".." in name:
            raise UsageError(f"target {target!r}: {name!r} is not a valid owner or repo name")
    filename = "/".join(parts[2:])
    if any(piece in (".", "..") for piece in parts[2:]):
        raise UsageError(f"target {target!r}: the file path may not contain '.' or '..'")
    return HubFiles(repo_id=f"{owner}/{repo}", filenames=split_parts(filename), revision=revision)
