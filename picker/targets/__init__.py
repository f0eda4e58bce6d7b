"""What a TARGET names: the one place every command and the TUI read a model's name.

A TARGET is a `.gguf` path (a split model's any part), `hf://OWNER/REPO/FILE.gguf[@REV]`
(a split part brings all its parts) or a catalog id with its quantization (`MODEL:QUANT`).
`read_target` turns it into a typed value; the modules beside this one answer what each
command asks of it:

- `picker.targets.shape`: the model's shape for a memory plan (`picker fit`), from a header
  (a local file, a Hub file's first bytes, a catalog copy on disk) or the catalog's facts;
- `picker.targets.files`: the files behind a catalog id, and how llama-server names them;
- `picker.targets.on_disk`: the file llama.cpp loads (smoke, chat, the TUI), downloaded first
  when it is not here yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from picker.errors import UsageError

if TYPE_CHECKING:
    from picker.catalog.types import Catalog, Model, Quantization
    from picker.hub.target import HubFiles

HUB_SCHEME = "hf://"

# "word": no ':', no .gguf suffix and nothing at that path: smoke and chat take it for a
# missing file, fit for a catalog id without its quantization.
TargetKind = Literal["hub", "path", "catalog", "word"]


@dataclass(frozen=True)
class LocalTarget:
    """A file on this machine (not checked to exist: each command says so its own way)."""

    text: str
    path: Path


@dataclass(frozen=True)
class HubTarget:
    """`hf://OWNER/REPO/FILE.gguf[@REV]`: every part of the file on the Hub."""

    text: str
    files: HubFiles


@dataclass(frozen=True)
class CatalogTarget:
    """`MODEL:QUANT`: one quantization of a catalog model."""

    text: str
    model: Model
    quant: Quantization


Target = LocalTarget | HubTarget | CatalogTarget


def kind_of(text: str) -> TargetKind:
    """Which kind of TARGET `text` is, before anything is read. A path (even C:\\models\\x.gguf,
    or any existing file whose name has a ':') is local."""
    if text.startswith(HUB_SCHEME):
        return "hub"
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists():
        return "path"
    return "catalog" if ":" in text else "word"


def read_target(text: str, catalog: Catalog | None = None) -> Target:
    """The typed TARGET; a catalog id that names no model or quantization is refused here
    (NotFoundError, with the closest id), a malformed hf:// target too (UsageError)."""
    kind = kind_of(text)
    if kind == "hub":
        from picker.hub.target import parse_target

        return HubTarget(text, parse_target(text))
    if kind == "catalog":
        from picker.catalog.hooks import resolve

        model, quant = resolve(text, catalog)
        return CatalogTarget(text, model, quant)
    return LocalTarget(text, Path(text).expanduser())


def hub_files(text: str) -> HubFiles:
    """What `picker download TARGET` fetches: an hf:// target's files, or a catalog id's."""
    if text.startswith(HUB_SCHEME):
        from picker.hub.target import parse_target

        return parse_target(text)
    if ":" not in text:
        raise UsageError(
            f"cannot read target {text!r}; use hf://OWNER/REPO/FILE.gguf or a catalog id "
            "with its quantization, e.g. gemma-3-1b-it:Q4_K_M"
        )
    from picker.catalog.hooks import hub_files as catalog_hub_files

    return catalog_hub_files(text)
