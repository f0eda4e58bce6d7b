"""The files behind a catalog id, and how llama-server is told a TARGET's model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from picker.errors import NotFoundError, PickerError, UsageError
from picker.targets import HUB_SCHEME, CatalogTarget, read_target

if TYPE_CHECKING:
    from picker.gguf.remote import HubModel


def on_disk_file(target: CatalogTarget) -> str | None:
    """The first file of a complete copy of the catalog quantization on disk, or None."""
    from picker.catalog.loader import load_catalog
    from picker.catalog.ondisk import find_copy

    copy = find_copy(load_catalog(), target.model.id, target.quant.type)
    return str(copy.paths[0]) if copy is not None else None


def catalog_file(target: CatalogTarget) -> str:
    """The file behind a catalog id, for --exact: a complete copy on disk, else hf://REPO/FILE."""
    on_disk = on_disk_file(target)
    if on_disk is not None:
        return on_disk
    model, quant = target.model, target.quant
    if model.gguf is None or model.gguf.quantizer == "local":
        where = ", ".join(quant.files) or "nowhere known"
        raise NotFoundError(f"the files of {model.id} {quant.type} are not on disk ({where}); "
                            "give the path of its .gguf file")
    if not quant.files:
        raise UsageError(f"the catalog does not know the file names of {model.id} {quant.type}, "
                         f"which --exact reads; run `picker catalog refresh {model.id}`, or "
                         f"give hf://{model.gguf.repo}/FILE.gguf")
    return f"{HUB_SCHEME}{model.gguf.repo}/{quant.files[0]}"


def model_arguments(text: str, source: Path | HubModel | None) -> list[str]:
    """How llama-server is told the model: -m PATH, or the Hub repo and file."""
    if isinstance(source, Path):
        return ["-m", str(source.resolve())]
    if text.startswith(HUB_SCHEME):
        from picker.hub.target import parse_target

        files = parse_target(text)
        return ["--hf-repo", files.repo_id, "--hf-file", files.filenames[0]]
    try:
        target = read_target(text)
        if not isinstance(target, CatalogTarget):
            raise UsageError(f"{text!r} is not a catalog id")
        where = catalog_file(target)
    except PickerError:
        return ["-m", "MODEL.gguf"]  # the catalog knows no file name yet
    return model_arguments(where, Path(where) if not where.startswith(HUB_SCHEME) else None)
