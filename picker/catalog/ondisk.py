"""Which catalog quantizations are already on this machine, and where.

Looks (read-only, names and sizes only, never hashing) in the Hugging Face cache,
picker's own models folder, LM Studio's model folders and Ollama's store. HF cache
and LM Studio keep `OWNER/REPO/file` so they match on repository and file name;
picker's folder matches on file name; Ollama keeps only content hashes, so it matches
on the sha256 the catalog (or a refresh) knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from picker.cachefiles import read_json
from picker.catalog.types import Catalog, Model, Quantization

MAX_DEPTH = 4  # picker's models folder: how deep to look for .gguf files


@dataclass(frozen=True)
class LocalRoots:
    hf_cache: Path | None = None
    picker_models: Path | None = None
    lmstudio: tuple[Path, ...] = ()
    ollama: Path | None = None

    @staticmethod
    def default() -> LocalRoots:
        from picker.hub.settings import default_cache_dir
        from picker.paths import picker_paths

        home = Path.home()
        ollama = os.environ.get("OLLAMA_MODELS")
        return LocalRoots(
            hf_cache=default_cache_dir(),
            picker_models=picker_paths().models_dir,
            lmstudio=(home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"),
            ollama=Path(ollama).expanduser() if ollama else home / ".ollama" / "models",
        )


@dataclass(frozen=True)
class LocalCopy:
    model_id: str
    quant: str
    location: str  # "hf-cache", "picker", "lmstudio" or "ollama"
    paths: tuple[Path, ...]
    read_only: bool  # another tool's folder: picker never writes or deletes there

    def to_dict(self) -> dict[str, object]:
        return {"quant": self.quant, "location": self.location,
                "paths": [str(p) for p in self.paths], "read_only": self.read_only}


@dataclass
class _Index:
    by_repo_file: dict[tuple[str, str], list[tuple[Model, Quantization]]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[Model, Quantization]]] = field(default_factory=dict)
    by_sha: dict[str, tuple[Model, Quantization]] = field(default_factory=dict)


def _index(catalog: Catalog) -> _Index:
    index = _Index()
    for model in catalog.models:
        if model.gguf is None:
            continue
        repo = model.gguf.repo.lower()
        for quant in model.quantizations:
            for name in quant.files:
                index.by_repo_file.setdefault((repo, name), []).append((model, quant))
                index.by_name.setdefault(name.rsplit("/", 1)[-1], []).append((model, quant))
            if len(quant.sha256) == 1:
                index.by_sha[quant.sha256[0]] = (model, quant)
    return index


def _complete(quant: Quantization, found: dict[str, Path], base: str = "") -> tuple[Path, ...] | None:
    """All parts of `quant` present among `found` (keyed by path relative to the repo)?"""
    paths = [found.get(base + name) or found.get(name.rsplit("/", 1)[-1]) for name in quant.files]
    return tuple(p for p in paths if p) if all(paths) else None


def _match_repo(
    index: _Index, repo: str, files: dict[str, Path], location: str, read_only: bool
) -> Iterator[LocalCopy]:
    seen: set[tuple[str, str]] = set()
    for name in files:
        for model, quant in index.by_repo_file.get((repo.lower(), name), []):
            paths = _complete(quant, files)
            if paths and (model.id, quant.type) not in seen:
                seen.add((model.id, quant.type))
                yield LocalCopy(model.id, quant.type, location, paths, read_only)


def _gguf_files(root: Path, depth: int) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if depth < 0 or not root.is_dir():
        return found
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        if entry.name.lower().endswith(".gguf") and entry.is_file():
            found[entry.name] = Path(entry.path)
        elif entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            for name, path in _gguf_files(Path(entry.path), depth - 1).items():
                found[f"{entry.name}/{name}"] = path
    return found


def _hf_cache(index: _Index, root: Path) -> Iterator[LocalCopy]:
    repos = {repo for repo, _ in index.by_repo_file}
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if not folder.name.startswith("models--"):
            continue
        repo = folder.name[len("models--"):].replace("--", "/")
        if repo.lower() not in repos:
            continue
        snapshots = folder / "snapshots"
        for snapshot in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
            files = {k: v for k, v in _gguf_files(snapshot, 2).items() if v.exists()}
            yield from _match_repo(index, repo, files, "hf-cache", read_only=False)


def _lmstudio(index: _Index, root: Path) -> Iterator[LocalCopy]:
    if not root.is_dir():
        return
    for owner in root.iterdir():
        for repo_dir in owner.iterdir() if owner.is_dir() else []:
            files = _gguf_files(repo_dir, 1)
            yield from _match_repo(index, f"{owner.name}/{repo_dir.name}", files, "lmstudio", True)


def _picker_models(index: _Index, root: Path) -> Iterator[LocalCopy]:
    files = _gguf_files(root, MAX_DEPTH)
    by_name = {path.name: path for path in files.values()}
    seen: set[tuple[str, str]] = set()
    for name in by_name:
        for model, quant in index.by_name.get(name, []):
            paths = _complete(quant, by_name)
            if paths and (model.id, quant.type) not in seen:
                seen.add((model.id, quant.type))
                yield LocalCopy(model.id, quant.type, "picker", paths, read_only=False)


def _ollama(index: _Index, root: Path) -> Iterator[LocalCopy]:
    manifests = root / "manifests"
    if not manifests.is_dir() or not index.by_sha:
        return
    for manifest in manifests.rglob("*"):
        if not manifest.is_file():
            continue
        document = read_json(manifest)  # any damage, deep nesting included, reads as None
        layers = document.get("layers", []) if isinstance(document, dict) else []
        for layer in layers if isinstance(layers, list) else []:
            digest = str(layer.get("digest", "")) if isinstance(layer, dict) else ""
            match = index.by_sha.get(digest.removeprefix("sha256:"))
            blob = root / "blobs" / digest.replace(":", "-")
            if match and blob.is_file():
                yield LocalCopy(match[0].id, match[1].type, "ollama", (blob,), read_only=True)


def find_local_copies(catalog: Catalog, roots: LocalRoots | None = None) -> list[LocalCopy]:
    """Every catalog quantization found complete on disk, in the folders of `roots`."""
    roots = roots if roots is not None else LocalRoots.default()
    index = _index(catalog)
    copies: list[LocalCopy] = []
    if roots.hf_cache is not None:
        copies.extend(_hf_cache(index, roots.hf_cache))
    if roots.picker_models is not None:
        copies.extend(_picker_models(index, roots.picker_models))
    for folder in roots.lmstudio:
        copies.extend(_lmstudio(index, folder))
    if roots.ollama is not None:
        copies.extend(_ollama(index, roots.ollama))
    copies.extend(_user_files(catalog))
    return copies


def _user_files(catalog: Catalog) -> Iterator[LocalCopy]:
    """Files added with `picker catalog add PATH` are wherever the user keeps them."""
    for model in catalog.models:
        if model.gguf is None or model.gguf.quantizer != "local":
            continue
        for quant in model.quantizations:
            paths = tuple(Path(name) for name in quant.files)
            if paths and all(p.is_file() for p in paths):
                yield LocalCopy(model.id, quant.type, "local", paths, read_only=True)


def find_copy(catalog: Catalog, model_id: str, quant: str,
              roots: LocalRoots | None = None) -> LocalCopy | None:
    """The first complete copy of MODEL:QUANT on disk (HF cache, picker's folder, LM Studio,
    Ollama, a file added with `picker catalog add`), or None."""
    wanted = quant.upper()
    return next((copy for copy in find_local_copies(catalog, roots)
                 if copy.model_id == model_id and copy.quant.upper() == wanted), None)
