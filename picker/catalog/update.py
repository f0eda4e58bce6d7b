"""`picker catalog update FILE|URL`: newer catalog data without a new release of picker.

A bundle is one JSON (or TOML) document:

    {"format": "picker-catalog-bundle", "format_version": 1, "created": "2026-12-05",
     "description": "...", "files": {"qwen3.toml": "<a family file, shipped format>", ...}}

Each file takes the place of the shipped file of the same name (or adds a family); the
special files (sources.toml, quant_types.toml, closed.toml) may be replaced too. Before
anything is kept, the shipped catalog with the bundle's files laid over it is loaded and
validated by the same loader; a bundle that would not load is refused with the loader's
first problem and nothing changes. A valid one is written to a new folder beside your own
additions in the data dir and swapped in whole by renames, so a reader sees the old update,
none, or the new one, never part of one. An update older than the shipped catalog (after
upgrading picker) is not used, with a warning.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from picker.errors import NetworkError, NotFoundError, UsageError

BUNDLE_FORMAT = "picker-catalog-bundle"
BUNDLE_VERSION = 1
MANIFEST = "bundle.json"  # beside the family files; not *.toml, so never read as a family
SHIPPED_STAMP = "updated.json"  # in the shipped catalog folder: when its data last changed
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
MAX_FILES = 500
_FILE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\.toml")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Bundle:
    created: str  # YYYY-MM-DD: when the bundle's data was assembled
    description: str
    files: dict[str, str]  # file name -> TOML text in the shipped format


class BundleError(UsageError):
    """A bundle that is not one, or whose data would not load."""

    code = "catalog_update"


def _fetch(url: str) -> bytes:
    """The bundle at `url`: https, or plain http to this machine only (a bundle decides which
    repositories picker downloads from, so it must not be open to a man in the middle)."""
    from urllib.parse import urlsplit

    import httpx2

    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise UsageError(f"cannot fetch {url!r}: use an https:// URL (or a file)")
    try:
        with httpx2.Client(timeout=30.0, follow_redirects=True) as client, \
                client.stream("GET", url) as response:
            if response.status_code != 200:
                raise NetworkError(f"{url} answered HTTP {response.status_code}; check the URL")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BUNDLE_BYTES:
                    raise BundleError(f"{url} is larger than {MAX_BUNDLE_BYTES >> 20} MiB; "
                                      "not a catalog bundle")
    except httpx2.HTTPError as error:
        raise NetworkError(f"cannot fetch {url} ({type(error).__name__}); check the network "
                           "and the URL") from None
    return bytes(body)


def read_source(source: str) -> bytes:
    """The bytes of a bundle file or URL (bounded in size); one-line errors."""
    from picker.cachefiles import read_bytes

    if source.startswith(("https://", "http://")):
        return _fetch(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise NotFoundError(f"no such file: {path}; give a catalog bundle (.json or .toml) or a URL")
    data = read_bytes(path, MAX_BUNDLE_BYTES)
    if data is None:
        raise BundleError(f"cannot read {path}: not a plain file of at most "
                          f"{MAX_BUNDLE_BYTES >> 20} MiB")
    return data


def _parse(data: bytes, where: str) -> object:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{where} is not UTF-8 text; not a catalog bundle") from None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as error:
            raise BundleError(f"{where} is not valid JSON: {error}") from None
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BundleError(f"{where} is neither JSON nor valid TOML: {error}") from None


def parse_bundle(data: bytes, where: str) -> Bundle:
    """The bundle in `data`, its envelope checked (the data itself is checked by loading it)."""
    document = _parse(data, where)
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where} is not a picker catalog bundle (its \"format\" must be "
                          f"{BUNDLE_FORMAT!r})")
    version = document.get("format_version")
    if version != BUNDLE_VERSION:
        raise BundleError(f"{where} is a catalog bundle of format version {version!r}; this picker "
                          f"reads version {BUNDLE_VERSION}: upgrade picker, or ask for a bundle "
                          f"of version {BUNDLE_VERSION}")
    created = str(document.get("created", ""))
    if not _DATE_RE.fullmatch(created):
        raise BundleError(f"{where}: \"created\" must be the date the data was assembled, "
                          f"YYYY-MM-DD")
    files = document.get("files")
    if not isinstance(files, dict) or not files or len(files) > MAX_FILES:
        raise BundleError(f"{where}: \"files\" must map 1 to {MAX_FILES} file names to their TOML text")
    for name, text in files.items():
        if not (isinstance(name, str) and _FILE_NAME_RE.fullmatch(name)) or not isinstance(text, str):
            raise BundleError(f"{where}: file {name!r} must be named like 'qwen3.toml' (lower-case "
                              "letters, digits, . _ -) and hold TOML text")
    description = document.get("description", "")
    return Bundle(created, description if isinstance(description, str) else "", dict(files))


def make_bundle(folder: Path, created: str, description: str = "",
                names: list[str] | None = None) -> dict[str, object]:
    """A bundle of the catalog files in `folder` (all *.toml, or `names`): how a maintainer
    publishes the data of a newer catalog for pickers already installed."""
    chosen = names or sorted(p.name for p in folder.glob("*.toml"))
    return {"format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION, "created": created,
            "description": description,
            "files": {name: (folder / name).read_text(encoding="utf-8") for name in chosen}}


def _write_folder(folder: Path, bundle: Bundle, source: str, kept_at: str) -> None:
    from picker.safefiles import replace_whole

    folder.mkdir(parents=True, mode=0o700)
    for name, text in bundle.files.items():
        replace_whole(folder / name, text.encode("utf-8"), mode=0o600)
    manifest = {"format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION,
                "created": bundle.created, "description": bundle.description,
                "source": source, "kept_at": kept_at, "files": sorted(bundle.files)}
    replace_whole(folder / MANIFEST, json.dumps(manifest, indent=1).encode(), mode=0o600)


def _validate(folder: Path, user_dir: Path) -> list[str]:
    """Load the shipped catalog with the update laid over it (raises BundleError if it would not
    load); warnings when your own additions would then be skipped."""
    from picker.catalog.loader import load_catalog_from, shipped_data_dir
    from picker.catalog.schema import CatalogError

    try:
        catalog = load_catalog_from(shipped_data_dir(), update_folder=folder)
    except CatalogError as error:
        count = len(error.problems)
        more = f" (and {count - 1} more problem(s))" if count > 1 else ""
        raise BundleError(f"refused the catalog update, nothing was changed: {error.problems[0]}"
                          f"{more}") from None
    if not catalog.models:
        raise BundleError("refused the catalog update, nothing was changed: it leaves no models")
    if user_dir.is_dir():
        try:
            load_catalog_from(shipped_data_dir(), [user_dir], update_folder=folder)
        except CatalogError as error:
            return [f"with this update your own additions would be skipped: {error.problems[0]}"]
    return []


def apply_update(source: str, data_dir: Path, user_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Validate the bundle at `source` and keep it as the catalog update; its manifest and warnings."""
    import datetime as dt
    import os

    from picker.catalog.loader import update_dir

    bundle = parse_bundle(read_source(source), source)
    target = update_dir(data_dir)
    fresh = target.with_name(f"{target.name}.new-{os.getpid()}")
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    kept_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    shown_source = source if source.startswith(("https://", "http://")) else str(Path(source).resolve())
    try:
        _write_folder(fresh, bundle, shown_source, kept_at)
        warnings = _validate(fresh, user_dir)
        if target.exists():
            os.replace(target, old)
        os.replace(fresh, target)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    stale = stale_update(target)
    return read_manifest(target) or {}, [*warnings, *([stale] if stale else [])]


def remove_update(data_dir: Path) -> bool:
    from picker.catalog.loader import update_dir

    target = update_dir(data_dir)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


def read_manifest(folder: Path) -> dict[str, Any] | None:
    from picker.cachefiles import read_json

    manifest = read_json(folder / MANIFEST, 1024 * 1024)
    if not isinstance(manifest, dict) or not _DATE_RE.fullmatch(str(manifest.get("created", ""))):
        return None
    return manifest


def shipped_stamp() -> str:
    """When the shipped catalog data last changed (YYYY-MM-DD), from its stamp file; '' if none."""
    from picker.cachefiles import read_json
    from picker.catalog.loader import shipped_data_dir

    folder = shipped_data_dir()
    if not isinstance(folder, Path):
        return ""
    stamp = read_json(folder / SHIPPED_STAMP, 64 * 1024)
    updated = str(stamp.get("updated", "")) if isinstance(stamp, dict) else ""
    return updated if _DATE_RE.fullmatch(updated) else ""


def stale_update(folder: Path) -> str:
    """Why the kept update is not used ('' when it is): damaged, or older than the shipped data."""
    manifest = read_manifest(folder)
    if manifest is None:
        return (f"the catalog update in {folder} has no readable {MANIFEST}; it is not used "
                "(`picker catalog update FILE|URL` again, or `picker catalog update --remove`)")
    shipped = shipped_stamp()
    if shipped and manifest["created"] < shipped:
        return (f"the catalog update of {manifest['created']} is older than this picker's shipped "
                f"catalog ({shipped}), so it is not used; `picker catalog update --remove` drops it")
    return ""
