"""A catalog's quality yardsticks and every model's base quality, kept between runs.

Ranking the best ten still needs every model's quality: the order in which models are
planned, and where planning stops, is each model's best possible score (`engine`). That
quality is a pass over every published score of every model, against yardsticks taken
over the whole catalog (`References`: the best score and the number of models in each
comparable group, the lower quartile of each use-case benchmark): with a 5,000-model
catalog ~0.55 s of `picker --json`'s ~0.6 s ranking, every run
(benchmarks/catalog_scale_figures.md). It depends only on the catalog's content and this
code, so it is worked out once per catalog and use case and read back afterwards, with
each model's place in the ranking's queue at the use case's own context (the bound itself,
from the engine's `queue_bound`), which `picker --json` and the TUI plan with.

Kept in the cache dir as JSON (data, never code: one line naming the format and the
checksum and length of the rest, then the table), under a name made of the catalog's
content key (`loader.content_key`), the use case and these modules' files. A table that
is missing, damaged, stale, planted or of the wrong shape reads as None and is worked out
again; a catalog without a content key (made in memory, or changed after loading) is
never kept.
"""

import json
import sys
from collections.abc import Callable
from itertools import repeat
from operator import is_
from pathlib import Path
from typing import NamedTuple, TypeVar

from picker.catalog.facts import model_ids
from picker.catalog.types import Catalog, Model
from picker.rank.comparable import ScoreGroup
from picker.rank.quality import References, base_quality, quality_facets
from picker.rank.usecases import UseCase

FORMAT_VERSION = 3  # 2: each model's place in the ranking's queue too; 3: kept as columns
KEPT_TABLES = 8  # a few catalogs x use cases
# The modules whose code decides a model's base quality.
_CODE_FILES = ("quality.py", "comparable.py", "usecases.py", "quality_table.py", "engine.py",
               "score.py")

# model id -> (quality level, 16-bit quality): what the ranking's bound needs of each model.
Bounds = dict[str, tuple[int, float | None]]
# The engine's place of a model in its planning queue, from its (level, quality); None: none.
QueueBound = Callable[[Model, tuple[int, float | None]], tuple[int, float] | None]


class Table(NamedTuple):
    references: References
    qualities: Bounds
    queue: dict[str, tuple[int, float]]  # model id -> its place in the queue at the default context


def prepared(catalog: Catalog, use_case: UseCase, queue_bound: QueueBound) -> Table:
    """The catalog's yardsticks, every model's (level, base quality) for the use case and its
    place in the ranking's queue (`queue_bound`): read back when this catalog was ranked for
    the use case before, else worked out (and kept)."""
    path = _table_path(catalog, use_case)
    if path is not None:
        found = read(path, catalog)
        if found is not None:
            return found
    refs = References(catalog)
    qualities: Bounds = {}
    queue: dict[str, tuple[int, float]] = {}
    for model in catalog.models:
        quality = base_quality(model, use_case, refs)
        qualities[model.id] = (quality.level, quality.raw)
        bound = queue_bound(model, qualities[model.id])
        if bound is not None:
            queue[model.id] = bound
    table = Table(refs, qualities, queue)
    if path is not None:
        write(path, catalog, table, use_case)
    return table


def _table_path(catalog: Catalog, use_case: UseCase) -> Path | None:
    from picker import __version__
    from picker.cachefiles import checksum, identity
    from picker.catalog.loader import content_key
    from picker.paths import picker_paths

    key = content_key(catalog)
    if key is None:
        return None
    here = Path(__file__).parent
    try:
        code = [identity(here / name) for name in _CODE_FILES]
    except OSError:
        return None
    name = checksum([f"v{FORMAT_VERSION}", __version__, key, use_case.key, *code])
    return picker_paths().cache_dir / f"quality-table-{name}.json"


def write(path: Path, catalog: Catalog, table: Table, use_case: UseCase) -> None:
    """Keep the table; gives up quietly where the cache dir is not writable."""
    from picker.cachefiles import drop_older_copies, sealed, write_whole

    best, best_any, peers, peers_any, quartiles = table.references.yardsticks(quality_facets(use_case))
    queue = table.queue
    ids = model_ids(catalog.models)
    places = [queue.get(model_id, (None, None)) for model_id in ids]
    kept = {
        "best": [[group.test, group.mode, value] for group, value in best.items()],
        "best_any": best_any,
        "peers": [[group.test, group.mode, count] for group, count in peers.items()],
        "peers_any": peers_any,
        "quartiles": quartiles,
        "models": ids,
        # a column each, in the models' order: quality level and 16-bit quality, and the
        # queue place (level, score) or null where a model has none
        "levels": [table.qualities[model_id][0] for model_id in ids],
        "qualities": [table.qualities[model_id][1] for model_id in ids],
        "queue_levels": [place[0] for place in places],
        "queue_scores": [place[1] for place in places],
    }
    payload = json.dumps(kept, separators=(",", ":")).encode()
    if write_whole(path, sealed(payload, format=FORMAT_VERSION)):
        drop_older_copies(path, "quality-table-*.json", KEPT_TABLES)


def read(path: Path, catalog: Catalog) -> Table | None:
    """The kept table for this catalog, or None unless it is exactly what was written for it."""
    from picker.cachefiles import read_bytes, unsealed

    data = read_bytes(path)
    payload = None if data is None else unsealed(data, format=FORMAT_VERSION)
    if payload is None:
        return None
    try:
        # msgspec's parser where a large catalog's read imported it already (~1 ms against
        # json's ~4.5 ms for a 5,000-model table); the same values, types checked below.
        msgspec = sys.modules.get("msgspec")
        table = msgspec.json.decode(payload) if msgspec is not None else json.loads(bytes(payload))
        return _restore(table, catalog)
    except (ValueError, RecursionError, TypeError, KeyError):
        return None


def _restore(table: object, catalog: Catalog) -> Table | None:
    """The table's values, each of the type it must have; None where any is off."""
    if type(table) is not dict:
        return None
    ids = model_ids(catalog.models)
    if table["models"] != ids:  # another catalog's, or models replaced after loading
        return None
    best = _groups(table["best"], float)
    peers = _groups(table["peers"], int)
    best_any = _named(table["best_any"], float)
    peers_any = _named(table["peers_any"], int)
    quartiles = _named(table["quartiles"], float)
    columns = [table[name] for name in ("levels", "qualities", "queue_levels", "queue_scores")]
    if (best is None or peers is None or best_any is None or peers_any is None or quartiles is None
            or any(type(column) is not list or len(column) != len(ids) for column in columns)):
        return None
    levels, values, queue_levels, queue_scores = columns
    # Each column's types in one pass in C (a bool is no int here: `type`, not isinstance).
    if (not _INT.issuperset(map(type, levels)) or not _OPTIONAL_FLOAT.issuperset(map(type, values))
            or not _OPTIONAL_INT.issuperset(map(type, queue_levels))
            or not _OPTIONAL_FLOAT.issuperset(map(type, queue_scores))
            or list(map(is_, queue_levels, repeat(None))) != list(map(is_, queue_scores, repeat(None)))):
        return None
    qualities: Bounds = dict(zip(ids, zip(levels, values, strict=True), strict=True))
    queue = {model_id: (level, score) for model_id, level, score
             in zip(ids, queue_levels, queue_scores, strict=True) if level is not None}
    return Table(References.restored(catalog, best, best_any, peers, peers_any, quartiles),
                 qualities, queue)


_INT = frozenset({int})
_OPTIONAL_INT = frozenset({int, type(None)})
_OPTIONAL_FLOAT = frozenset({float, type(None)})


_Value = TypeVar("_Value", int, float)


def _groups(rows: object, kind: type[_Value]) -> dict[ScoreGroup, _Value] | None:
    if type(rows) is not list:
        return None
    found: dict[ScoreGroup, _Value] = {}
    for row in rows:
        if (type(row) is not list or len(row) != 3 or type(row[0]) is not str
                or type(row[1]) is not str or type(row[2]) is not kind):
            return None
        found[ScoreGroup(row[0], row[1])] = row[2]
    return found


def _named(mapping: object, kind: type[_Value]) -> dict[str, _Value] | None:
    if type(mapping) is not dict or any(type(value) is not kind for value in mapping.values()):
        return None
    return mapping
