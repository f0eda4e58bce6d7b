"""Find, parse and validate the catalog files into one immutable `Catalog`.

The shipped data is the package `picker.catalog_data` (the repo's top-level
catalog/ folder), found through importlib.resources so a plain wheel install
works. This sits on the path of `picker --json`: a validated copy is read back from the
cache dir (builtcache.py); tomllib and the validator load only when it misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.catalog import builtcache
from picker.catalog.schema import CatalogError, Problems, check, opt, req
from picker.catalog.types import Catalog, ClosedModel, Model

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DATA_PACKAGE = "picker.catalog_data"
SOURCES_FILE = "sources.toml"
QUANT_TYPES_FILE = "quant_types.toml"
CLOSED_FILE = "closed.toml"
USER_DIR = "catalog"
UPDATE_DIR = "catalog-update"
_SPECIAL = {SOURCES_FILE, QUANT_TYPES_FILE, CLOSED_FILE}

FAMILY_SPEC = {
    "family": req(str), "title": req(str), "note": opt(str), "models": req(list, dict),
}


def shipped_data_dir() -> Traversable | Path:
    """The shipped catalog folder, wherever the package was installed.

    A plain folder (wheel or editable install) is returned as a Path without loading
    importlib.resources; a zipped install goes through importlib.resources.
    """
    from importlib.util import find_spec

    spec = find_spec(DATA_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if locations and Path(locations[0]).is_dir():
        return Path(locations[0])
    from importlib import resources

    return resources.files(DATA_PACKAGE)


def _parse(entry: Traversable | Path, problems: Problems) -> dict[str, Any]:
    import tomllib  # only when the validated copy misses: it costs ~15 ms to import

    try:
        return tomllib.loads(entry.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        problems.add(entry.name, f"not valid TOML: {error}")
    except (OSError, UnicodeDecodeError) as error:
        problems.add(entry.name, f"cannot read: {error}")
    return {}


def _toml_files(folder: Traversable | Path) -> dict[str, Traversable | Path]:
    return {e.name: e for e in folder.iterdir() if e.name.endswith(".toml") and e.is_file()}


def load_catalog_from(
    folder: Traversable | Path, extra_folders: Iterable[Path] = (), cache_dir: Path | None = None,
    update_folder: Path | None = None,
) -> Catalog:
    """Load and validate every file in `folder` (plus user folders); raise CatalogError.

    `cache_dir` keeps a copy of the validated result (see builtcache.py) that later
    loads of the same files by the same code read back instead. A file in `update_folder`
    (`picker catalog update`) takes the place of the shipped file of the same name.
    """
    problems = Problems()
    files = _toml_files(folder)
    if update_folder is not None:
        files.update(_toml_files(update_folder))
    for name in (SOURCES_FILE, QUANT_TYPES_FILE):
        if name not in files:
            problems.add(name, "missing from the catalog folder")
    problems.raise_if_any()
    entries = [files[name] for name in sorted(files)]
    for extra in extra_folders:
        if extra.is_dir():
            entries.extend(sorted(_toml_files(extra).values(), key=lambda e: e.name))
    key = builtcache.cache_key(entries) if cache_dir is not None else None

    def built() -> Catalog:
        catalog = _build([(entry.name, _parse(entry, problems)) for entry in entries], len(files),
                         problems)
        if key is not None and cache_dir is not None:
            builtcache.write(cache_dir, key, catalog)
        return catalog
    if key is not None and cache_dir is not None:
        # `built` again where a lazily read record of the copy proves it is not what was written
        cached = builtcache.read(cache_dir, key, rebuild=built)
        if cached is not None:
            return _with_key(cached, key)
    catalog = built()
    return _with_key(catalog, key) if key is not None else catalog


# id(models tuple) of each catalog loaded here -> (that tuple, the key of the files and code it
# came from): a catalog whose models were replaced after loading has a new tuple, so no key.
_CONTENT_KEYS: dict[int, tuple[Sequence[Model], str]] = {}
_KEPT_KEYS = 8  # catalogs loaded in one process: the memoised ones (`_load`) and a few more


def _with_key(catalog: Catalog, key: str) -> Catalog:
    _CONTENT_KEYS[id(catalog.models)] = (catalog.models, key)
    while len(_CONTENT_KEYS) > _KEPT_KEYS:
        del _CONTENT_KEYS[next(iter(_CONTENT_KEYS))]
    return catalog


def content_key(catalog: Catalog) -> str | None:
    """What names this catalog's content for data derived from it and kept between runs
    (`picker.rank.quality_table`): the key of the files and loading code it was read from, and
    the refresh overlay applied to it; None for a catalog made in memory or whose models were
    replaced after loading."""
    entry = _CONTENT_KEYS.get(id(catalog.models))
    return entry[1] if entry is not None and entry[0] is catalog.models else None


def _build(documents: list[tuple[str, dict[str, object]]], shipped_count: int,
           problems: Problems) -> Catalog:
    """Validate the parsed documents (the first `shipped_count` from the shipped folder)."""
    from picker.catalog.build import build_closed, build_model, build_quant_types, build_sources

    special = {name: doc for name, doc in documents[:shipped_count] if name in _SPECIAL}
    sources = build_sources(special[SOURCES_FILE], SOURCES_FILE, problems)
    types = build_quant_types(special[QUANT_TYPES_FILE], QUANT_TYPES_FILE, sources, problems)
    closed: list[ClosedModel] = []
    if CLOSED_FILE in special:
        top = check(special[CLOSED_FILE], {"closed": req(list, dict)}, CLOSED_FILE, problems)
        for table in top.get("closed", []):
            closed_model = build_closed(table, CLOSED_FILE, sources, problems)
            if closed_model is not None:
                closed.append(closed_model)
    models: list[Model] = []
    for index, (name, doc) in enumerate(documents):
        if index < shipped_count and name in _SPECIAL:
            continue
        top = check(doc, FAMILY_SPEC, name, problems)
        for table in top.get("models", []):
            model = build_model(table, top.get("family", "?"), name, types, sources, problems)
            if model is not None:
                models.append(model)
    _check_unique_ids(models, closed, problems)
    problems.raise_if_any()
    return Catalog(tuple(models), tuple(closed), types, sources)


def _check_unique_ids(models: list[Model], closed: list[ClosedModel], problems: Problems) -> None:
    seen: dict[str, str] = {}
    entries: list[Model | ClosedModel] = [*models, *closed]
    for entry in entries:
        if entry.id in seen:
            problems.add(entry.source_file,
                         f"duplicate id {entry.id!r} (first defined in {seen[entry.id]})")
        else:
            seen[entry.id] = entry.source_file


def user_catalog_dir(data_dir: Path) -> Path:
    """Where `picker catalog add` keeps the user's own entries (TOML family files)."""
    return data_dir / USER_DIR


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _stamp_dir(path: Path) -> int:
    """Changes whenever a file in `path` is added, removed or edited; 0 if it is absent."""
    try:
        return hash((path.stat().st_mtime_ns, *(_stamp(p) for p in sorted(path.glob("*.toml")))))
    except OSError:
        return 0


@lru_cache(maxsize=4)
def _load(cache_dir: Path, data_dir: Path, overlay_stamp: int, user_stamp: int,
          update_stamp: int = 0) -> Catalog:
    from picker.catalog.overlay import apply_overlay, read_overlay

    user_dir = user_catalog_dir(data_dir)
    extras = [user_dir] if user_stamp else []
    update, warnings = _usable_update(data_dir) if update_stamp else (None, [])
    # While the result does not validate, drop your additions, else the update, else both.
    additions, kept_update = f"your catalog additions in {user_dir}", f"the catalog update in {update}"
    tries: list[tuple[list[Path], Path | None, list[str]]] = [(extras, update, [])]
    if extras and update is not None:
        tries += [([], update, [additions]), (extras, None, [kept_update])]
    if extras or update is not None:
        tries.append(([], None, [additions] * bool(extras) + [kept_update] * (update is not None)))
    first: CatalogError | None = None
    for index, (extra, folder, dropped) in enumerate(tries):
        try:
            catalog = load_catalog_from(shipped_data_dir(), extra, cache_dir=cache_dir,
                                        update_folder=folder)
        except CatalogError as error:
            first = first or error
            if index + 1 == len(tries):
                raise
            continue
        if first is not None:
            warnings.append(f"skipped {' and '.join(dropped)}: {first.problems[0]}")
        break
    if warnings:
        catalog = catalog._replace(warnings=(*catalog.warnings, *warnings))
    key = content_key(catalog)
    overlaid = apply_overlay(catalog, read_overlay(cache_dir))
    if key is not None and overlaid.models is not catalog.models:
        from picker.cachefiles import checksum

        _with_key(overlaid, checksum([key, f"overlay {overlay_stamp}"]))
    return overlaid


def _usable_update(data_dir: Path) -> tuple[Path | None, list[str]]:
    """The kept catalog update's folder, unless the shipped catalog is newer (then a warning)."""
    from picker.catalog.update import stale_update

    folder = update_dir(data_dir)
    reason = stale_update(folder)
    return (None, [reason]) if reason else (folder, [])


def update_dir(data_dir: Path) -> Path:
    """Where `picker catalog update` keeps the family files of an update (shipped format)."""
    return data_dir / UPDATE_DIR


def load_catalog() -> Catalog:
    """Shipped catalog + the user's additions + the refresh overlay (memoised per state).

    A broken user addition is skipped with a warning (`Catalog.warnings`); a broken
    shipped catalog raises CatalogError.
    """
    from picker.catalog.overlay import overlay_path
    from picker.paths import picker_paths

    paths = picker_paths()
    return _load(
        paths.cache_dir,
        paths.data_dir,
        _stamp(overlay_path(paths.cache_dir)),
        _stamp_dir(user_catalog_dir(paths.data_dir)),
        _stamp(update_dir(paths.data_dir)),  # the folder is replaced whole: its own time will do
    )


__all__ = [
    "CatalogError", "content_key", "load_catalog", "load_catalog_from", "shipped_data_dir",
    "user_catalog_dir",
]
