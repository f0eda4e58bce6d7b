"""`picker catalog add` / `remove`: the user's own entries, kept beside the shipped ones.

Entries are TOML in `<data dir>/catalog/added.toml`, in the shipped files' format, and
are validated by the same loader before they are kept: an entry that would not load
is never written.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.catalog.from_gguf import entry_from_header, quant_from_header, slug
from picker.catalog.hubfiles import (
    FoundQuant,
    find_quantizations,
    quant_of,
    quant_pattern,
)
from picker.catalog.loader import CatalogError, load_catalog_from, shipped_data_dir
from picker.catalog.tomlwrite import family_header, model_toml
from picker.catalog.types import Catalog
from picker.errors import NotFoundError, UsageError
from picker.safefiles import replace_whole

if TYPE_CHECKING:
    from picker.hub.settings import HubSettings

USER_FILE = "added.toml"
LOCAL_SOURCE = "local-gguf"
HUB_SOURCE = "hf-gguf"
_PART_RE = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)


def _free_id(wanted: str, catalog: Catalog) -> str:
    taken = set(catalog.ids())
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


def _quant_for(path: str, header_quant: str | None, catalog: Catalog) -> str | None:
    canonical = {n.upper(): n for n in catalog.quant_types}
    by_name = quant_of(path, quant_pattern(canonical), canonical)
    return by_name or (header_quant if header_quant in catalog.quant_types else None)


def _write_checked(user_dir: Path, entries: list[dict[str, object]]) -> None:
    """Write all user entries, keeping the old file if the result would not validate."""
    target = user_dir / USER_FILE
    old = target.read_text(encoding="utf-8") if target.exists() else None
    text = family_header("user", "Your additions") + "".join(
        "\n" + model_toml(entry) for entry in entries)
    user_dir.mkdir(parents=True, exist_ok=True)
    replace_whole(target, text.encode("utf-8"))
    try:
        load_catalog_from(shipped_data_dir(), [user_dir])
    except CatalogError as error:
        if old is None:
            target.unlink()
        else:
            replace_whole(target, old.encode("utf-8"))
        raise UsageError(
            f"the entry would not validate, nothing was added: {error.problems[0]}"
        ) from None


def user_entries(user_dir: Path) -> list[dict[str, Any]]:
    """The user's entries; a file that cannot be read as TOML is moved aside (kept, named in a
    warning) and the additions start afresh, so `catalog add` and `remove` still work."""
    from picker.cachefiles import set_aside
    from picker.output import warn

    target = user_dir / USER_FILE
    if not target.exists():
        return []
    try:
        models = tomllib.loads(target.read_text(encoding="utf-8")).get("models", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        aside = set_aside(target)
        if aside is None:
            raise UsageError(f"your catalog additions {target} cannot be read ({error}); "
                             "move the file aside and run the command again") from None
        warn(f"your catalog additions {target} could not be read ({' '.join(str(error).split())}); "
             f"moved to {aside}, starting afresh")
        return []
    return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []


def _local_groups(path: Path) -> list[list[Path]]:
    """The .gguf files under `path`, one group per model file (split parts together)."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*.gguf") if not p.name.lower().startswith(
            ("mmproj", "imatrix")))
    else:
        raise NotFoundError(f"{path} does not exist; give a .gguf file or a folder holding some")
    if not files:
        raise NotFoundError(f"no .gguf files in {path}")
    groups: dict[str, list[Path]] = {}
    for file in files:
        groups.setdefault(_PART_RE.sub("", str(file)), []).append(file)
    return [sorted(g) for g in groups.values()]


def add_local(path: Path, catalog: Catalog, user_dir: Path, model_id: str | None = None) -> list[str]:
    """Add the models in a local .gguf file or folder; returns the new ids."""
    from picker.gguf import read_header

    known = {name.rsplit("/", 1)[-1]: m.id for m in catalog.models
             for q in m.quantizations for name in q.files}
    models: dict[tuple[Any, ...], tuple[Any, list[FoundQuant]]] = {}
    for group in _local_groups(path.expanduser().resolve()):
        if group[0].name in known:
            raise UsageError(f"{group[0].name} is the catalog's {known[group[0].name]!r} already; "
                             "see `picker catalog show " + known[group[0].name] + "`")
        header = read_header(group[0])
        quant = _quant_for(group[0].name, quant_from_header(header), catalog)
        if quant is None:
            raise UsageError(f"cannot tell the quantization type of {group[0]}")
        key = (header.metadata.get("general.name"), header.architecture,
               header.arch_value("block_count"), header.arch_value("embedding_length"))
        found = FoundQuant(quant, tuple(str(p) for p in group),
                           sum(p.stat().st_size for p in group), ())
        models.setdefault(key, (header, []))[1].append(found)
    entries = user_entries(user_dir)
    added: list[str] = []
    where = path.expanduser().resolve()
    label = slug(where.name if where.is_dir() else where.stem)
    for (name, *_), (header, quants) in models.items():
        stem = _PART_RE.sub("", Path(quants[0].files[0]).name).removesuffix(".gguf")
        wanted = model_id if model_id and len(models) == 1 else slug(str(name or stem))
        new_id = _free_id(wanted, catalog) if not model_id else wanted
        if model_id and catalog.find(model_id) is not None:
            raise UsageError(f"id {model_id!r} is taken; choose another with --id")
        entries.append(entry_from_header(
            header, model_id=new_id, repo=f"local/{label}", quantizer="local",
            quants=quants, source=LOCAL_SOURCE, origin=str(path)))
        added.append(new_id)
    _write_checked(user_dir, entries)
    return added


def add_hub(repo: str, catalog: Catalog, user_dir: Path, model_id: str | None = None,
            settings: HubSettings | None = None) -> list[str]:
    """Add a Hub repo's GGUF files (sizes, sha256) and its header's architecture."""
    from picker.catalog.refresh import list_repo_files
    from picker.gguf.remote import read_hub_header
    from picker.hub.settings import resolve_settings
    from picker.safenames import check_repo_id

    check_repo_id(repo)
    for model in catalog.models:
        if model.gguf is not None and model.gguf.repo.lower() == repo.lower():
            raise UsageError(f"{repo} is already the catalog's {model.id!r}; run "
                             f"`picker catalog refresh {model.id}` for its current files")
    settings = settings if settings is not None else resolve_settings()
    _, files = list_repo_files(repo, settings, None)
    quants = find_quantizations(files, catalog.quant_types)
    if not quants:
        raise NotFoundError(f"no GGUF quantizations found in {repo}; "
                            f"see {settings.endpoint}/{repo}/tree/main")
    smallest = min(quants, key=lambda q: q.size_bytes)
    header = read_hub_header(repo, smallest.files[0], endpoint=settings.endpoint,
                             token=settings.token)
    if model_id and catalog.find(model_id) is not None:
        raise UsageError(f"id {model_id!r} is taken; choose another with --id")
    new_id = model_id or _free_id(slug(re.sub(r"-gguf$", "", repo.split("/")[-1], flags=re.I)),
                                  catalog)
    entries = user_entries(user_dir)
    entries.append(entry_from_header(
        header, model_id=new_id, repo=repo, quantizer=repo.split("/")[0], quants=quants,
        source=HUB_SOURCE, origin=f"hf://{repo}"))
    _write_checked(user_dir, entries)
    return [new_id]


def remove(model_id: str, user_dir: Path) -> None:
    entries = user_entries(user_dir)
    kept = [e for e in entries if e.get("id") != model_id]
    if len(kept) == len(entries):
        raise NotFoundError(f"{model_id!r} is not one of your additions; shipped entries "
                            "cannot be removed")
    if kept:
        _write_checked(user_dir, kept)
    else:
        (user_dir / USER_FILE).unlink()


__all__ = ["add_hub", "add_local", "remove", "user_entries"]
