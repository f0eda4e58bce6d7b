"""A TARGET's shape for a memory plan (`picker fit`), and what --exact asks llama.cpp about."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from picker.errors import NotFoundError, UsageError
from picker.targets import CatalogTarget, HubTarget, kind_of, read_target
from picker.targets.files import catalog_file, on_disk_file

if TYPE_CHECKING:
    from picker.gguf.remote import HubModel
    from picker.hardware.overrides import HardwareOverrides
    from picker.memory.shape import ModelShape


def load_shape(text: str, exact: bool = False, what_if: HardwareOverrides | None = None,
               ) -> tuple[ModelShape, Path | HubModel | None]:
    """The model's shape, and what --exact asks llama.cpp about: a local path or a HubModel
    (None: a catalog id planned from the catalog's facts has no file at hand).

    With `exact`, a catalog id is resolved to its file, whose header then gives the shape.
    `what_if`: the machine a bare catalog id's suggested quantization is ranked on (the
    caller's what-if flags; None: this one).
    """
    from picker.memory.shape import shape_from_header

    if kind_of(text) == "word":
        _refuse_a_bare_catalog_id(text, what_if)
        raise UsageError(f"cannot read target {text!r}; give a .gguf path, "
                         "hf://OWNER/REPO/FILE.gguf, or a catalog id like gemma-3-1b-it:Q4_K_M")
    target = read_target(text)
    if isinstance(target, HubTarget):
        from picker.gguf.remote import read_hub_model

        files = target.files  # header bytes only: range requests, nothing downloaded
        hub_model = read_hub_model(files.repo_id, files.filenames[0], files.revision)
        return shape_from_header(hub_model.header), hub_model
    if isinstance(target, CatalogTarget):
        if exact:
            return load_shape(catalog_file(target))
        on_disk = on_disk_file(target)
        if on_disk is not None:  # its header is at hand: exact sizes, nothing estimated
            return load_shape(on_disk)
        from picker.catalog.hooks import shape_from_catalog

        model, quant = target.model, target.quant
        return shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length), None
    path = target.path
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of a .gguf model file in it")
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}; give the path of a .gguf file")
    from picker.gguf import read_header

    return shape_from_header(read_header(path)), path


def _refuse_a_bare_catalog_id(text: str, what_if: HardwareOverrides | None = None) -> None:
    """`picker fit qwen3-8b`: name the quantizations, and the one `recommend` picks on the
    same machine as the rest of the command (the what-if one when its flags are given)."""
    from picker.catalog.loader import load_catalog

    catalog = load_catalog()
    model = catalog.model(text)
    if model is None:
        return
    if not model.quantizations:
        raise UsageError(f"{model.id} has no GGUF quantization llama.cpp can run")
    from picker.hardware.probe import probe_hardware
    from picker.rank.engine import RankOptions, recommend
    from picker.rank.request import measured_lookup
    from picker.speed.cpu_bandwidth import cpu_bandwidth

    snapshot = probe_hardware(what_if)
    ranked = recommend(snapshot, catalog._replace(models=(model,)), RankOptions(limit=1),
                       cpu_bandwidth(), measured_lookup(snapshot))
    here = "on the what-if machine" if snapshot.overridden else "here"
    best = (f"{model.id}:{ranked.recommendations[0].candidate.quant.type} is the one "
            f"`picker recommend` picks {here}; " if ranked.recommendations
            else f"none runs at 5 tokens/s or more {here}; ")
    raise UsageError(f"{model.id} needs a quantization: {best}it has "
                     f"{', '.join(q.type for q in model.quantizations)}")
