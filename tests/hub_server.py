"""A local stand-in for the Hugging Face Hub, so huggingface_hub's real code runs end to end.

Two threaded HTTP servers on 127.0.0.1: the Hub itself (API, `resolve` URLs) and a
"CDN" on another port that LFS files redirect to, as on huggingface.co. Serves an
in-memory set of repos, answers HTTP ranges, gates and hides repos the way the Hub
does (with the same `X-Error-Code` headers huggingface_hub dispatches on), and logs
every request. Behaviour follows /work/shared/notes/hub.md.

Extending it (fault injection): append a `Hook` to `server.hooks`. Each hook sees
every request (`handler`, `record`) before normal routing and returns True when it
answered the request itself (a 500, a cut connection, a slow body ...), False to let
the normal route answer. `handler.send_bytes(...)`, `handler.send_error_code(...)`
and `handler.close_connection` are there for hooks to use.

Hostile mode: set `server.lies` to a `Lies` and the Hub reports those values instead of
the truth (the commit id in `X-Repo-Commit` and the API, every LFS sha256, every git
blob id), as a compromised mirror or a man in the middle on plain http could. Hostile
file names need no mode: `add_repo` takes any path, `../../x.gguf` included.

Fixtures (in tests/conftest.py, built on `running_hub` and `instant_hub_backoff`
here): `hub_server` (a started server, huggingface_hub pointed at it) and
`hub_no_backoff` (huggingface_hub's retry sleeps return at once).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

LFS_SUFFIXES = (".gguf", ".safetensors", ".bin", ".pt", ".onnx")
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"


@dataclass(frozen=True)
class HubFile:
    data: bytes
    lfs: bool

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return LFS_POINTER.format(sha256=self.sha256, size=self.size).encode()

    @cached_property
    def blob_id(self) -> str:
        """The git blob id: of the LFS pointer for LFS files, as on the Hub."""
        blob = self.pointer if self.lfs else self.data
        return hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id

    def tree_entry(self, path: str, lies: Lies | None = None) -> dict[str, Any]:
        lies = lies or Lies()
        entry: dict[str, Any] = {
            "type": "file", "oid": lies.blob_id or self.blob_id, "size": lies.size or self.size,
            "path": path,
        }
        if self.lfs:
            entry["lfs"] = {
                "oid": lies.sha256 or self.sha256, "size": lies.size or self.size,
                "pointerSize": len(self.pointer),
            }
        return entry


@dataclass
class HubRepo:
    repo_id: str
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit
    commits: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    gated: bool = False  # files need a token in HubServer.tokens; metadata stays public
    private: bool = False  # invisible (RepoNotFound) without a token in HubServer.tokens
    # What `/api/models` lists about the repo besides its files: downloads, likes,
    # trendingScore, createdAt, lastModified, library_name and extra tags (e.g.
    # "base_model:quantized:OWNER/NAME"); the "gguf" tag comes from the files.
    card: dict[str, Any] = field(default_factory=dict)

    def commit_for(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


@dataclass
class RequestRecord:
    server: str  # "hub" or "cdn"
    method: str
    path: str  # unquoted, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    status: int = 0  # filled in when answered

    @property
    def range(self) -> str | None:
        return self.headers.get("range")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


Hook = Callable[["HubHandler", RequestRecord], bool]


@dataclass
class Lies:
    """What a hostile Hub says instead of the truth; None keeps the true value."""

    commit: str | None = None  # X-Repo-Commit on resolve answers, `sha` in model info
    sha256: str | None = None  # every LFS file's sha256 (X-Linked-Etag, lfs oid / sha256)
    blob_id: str | None = None  # every file's git blob id (tree oid, blobId)
    size: int | None = None  # every file's size in bytes (tree, paths-info, model info, X-Linked-Size)


class HubServer:
    """The stand-in Hub; use as a context manager or through the `hub_server` fixture."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.tokens: set[str] = set()  # tokens that may read gated and private repos
        self.requests: list[RequestRecord] = []
        self.hooks: list[Hook] = []
        self.lies = Lies()
        self.models_page_size = 1000  # `/api/models` items per page (the Hub's own cap is 1000)
        self.lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self.endpoint = ""
        self.cdn_endpoint = ""

    # lifecycle
    def start(self) -> HubServer:
        hub = self._serve("hub")
        cdn = self._serve("cdn")
        self.endpoint = f"http://127.0.0.1:{hub.server_address[1]}"
        self.cdn_endpoint = f"http://127.0.0.1:{cdn.server_address[1]}"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, name: str) -> ThreadingHTTPServer:
        handler = type(f"{name.title()}Handler", (HubHandler,), {"hub": self, "server_name": name})
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"hub-{name}", daemon=True
        ).start()
        self._servers.append(server)
        return server

    # content
    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes | str | Path | HubFile],
        *,
        revision: str = "main",
        gated: bool = False,
        private: bool = False,
        card: Mapping[str, Any] | None = None,
    ) -> str:
        """Create (or replace) a repo whose `revision` branch holds `files`; returns the commit.
        `card`: what `/api/models` lists besides the files (see HubRepo.card)."""
        with self.lock:
            self.repos[repo_id] = HubRepo(repo_id, gated=gated, private=private, card=dict(card or {}))
        return self.add_commit(repo_id, files, revision=revision)

    def add_commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes | str | Path | HubFile],
        *,
        revision: str = "main",
        keep_existing: bool = True,
    ) -> str:
        """A new commit on branch `revision` (existing files kept unless keep_existing=False)."""
        with self.lock:
            repo = self.repos[repo_id]
            parent = repo.refs.get(revision)
            tree = dict(repo.commits[parent]) if parent and keep_existing else {}
            tree.update({path: _as_file(path, content) for path, content in files.items()})
            digest = hashlib.sha1(f"{repo_id}\0{parent}\0{len(repo.commits)}".encode())
            for path in sorted(tree):
                digest.update(f"{path}\0{tree[path].blob_id}".encode())
            commit = digest.hexdigest()
            repo.commits[commit] = tree
            repo.refs[revision] = commit
            return commit

    def file_url(self, repo_id: str, filename: str, revision: str = "main") -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def blob(self, sha256: str) -> HubFile | None:
        with self.lock:
            for repo in self.repos.values():
                for tree in repo.commits.values():
                    for f in tree.values():
                        if f.lfs and f.sha256 == sha256:
                            return f
        return None

    # request log
    def log(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def requests_to(self, path_part: str, method: str | None = None) -> list[RequestRecord]:
        with self.lock:
            return [
                r
                for r in self.requests
                if path_part in r.path and (method is None or r.method == method)
            ]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (a range reader that has enough) are normal here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _as_file(path: str, content: bytes | str | Path | HubFile) -> HubFile:
    if isinstance(content, HubFile):
        return content
    if isinstance(content, Path):
        content = content.read_bytes()
    elif isinstance(content, str):
        content = content.encode()
    return HubFile(content, lfs=path.endswith(LFS_SUFFIXES))


class HubHandler(BaseHTTPRequestHandler):
    hub: HubServer
    server_name: str
    protocol_version = "HTTP/1.1"
    record: RequestRecord

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # entry points
    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        self.record = RequestRecord(
            server=self.server_name,
            method=self.command,
            path=unquote(url.path),
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        self.hub.log(self.record)
        for hook in list(self.hub.hooks):
            if hook(self, self.record):
                return
        if self.server_name == "cdn":
            self._route_cdn(url.path)
        else:
            self._route_hub(url.path)

    # responses (also for hooks)
    def send_json(self, value: Any, status: int = 200, headers: Mapping[str, str] = {}) -> None:
        body = json.dumps(value).encode()
        self._send(status, body, {"Content-Type": "application/json", **headers})

    def send_error_code(self, status: int, error_code: str | None, message: str) -> None:
        headers = {"X-Error-Message": message}
        if error_code:
            headers["X-Error-Code"] = error_code
        self.send_json({"error": message}, status, headers)

    def send_bytes(self, data: bytes, headers: Mapping[str, str] = {}) -> None:
        """Answer with `data`, honouring a single `Range: bytes=...` header (206 / 416)."""
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", **headers}
        requested = self.headers.get("Range")
        if requested is None:
            self._send(200, data, headers)
            return
        span = _parse_range(requested, len(data))
        if span is None:
            self._send(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
            return
        start, stop = span
        content_range = f"bytes {start}-{stop - 1}/{len(data)}"
        # A view, not a copy: a ranged read of a large file starts as fast as on a real CDN.
        self._send(206, memoryview(data)[start:stop], {**headers, "Content-Range": content_range})

    def _send(self, status: int, body: bytes | memoryview, headers: Mapping[str, str]) -> None:
        self.record.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # the CDN: /blobs/{sha256}
    def _route_cdn(self, raw_path: str) -> None:
        parts = raw_path.strip("/").split("/")
        blob = self.hub.blob(parts[1]) if len(parts) == 2 and parts[0] == "blobs" else None
        if blob is None or self.command == "POST":
            self.send_error_code(404, None, "no such blob")
            return
        self.send_bytes(blob.data, {"ETag": f'"{blob.sha256}"'})

    # the Hub
    def _route_hub(self, raw_path: str) -> None:
        segments = [unquote(s) for s in raw_path.strip("/").split("/")]
        if segments == ["api", "models"] and self.command == "GET":
            self._list_models()
            return
        if segments[:2] == ["api", "models"]:
            self._route_api(segments[2:])
            return
        repo, rest = self._split_repo(segments)
        if repo is None or len(rest) < 3 or rest[0] != "resolve":
            self.send_error_code(*self._repo_missing(), f"Repository {'/'.join(segments[:2])} not found")
            return
        self._resolve(repo, rest[1], "/".join(rest[2:]))

    def _split_repo(self, segments: list[str]) -> tuple[HubRepo | None, list[str]]:
        """The repo named by the leading segments ("owner/name" or a bare "name")."""
        for n in (2, 1):
            repo = self.hub.repos.get("/".join(segments[:n]))
            if repo is not None and len(segments) >= n:
                return repo, segments[n:]
        return None, segments[2:]

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[len("Bearer ") :] in self.hub.tokens

    def _repo_missing(self) -> tuple[int, str]:
        # Anonymous callers get 401 for a missing or private repo, as on the Hub.
        return (404 if self.headers.get("Authorization") else 401), "RepoNotFound"

    def _visible(self, repo: HubRepo | None) -> HubRepo | None:
        if repo is None or (repo.private and not self._authorized()):
            self.send_error_code(*self._repo_missing(), "Repository not found")
            return None
        return repo

    def _tree(self, repo: HubRepo, revision: str) -> tuple[str, dict[str, HubFile]] | None:
        commit = repo.commit_for(revision)
        if commit is None:
            self.send_error_code(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return commit, repo.commits[commit]

    def _resolve(self, found: HubRepo, revision: str, filename: str) -> None:
        repo = self._visible(found)
        if repo is None:
            return
        if self.command == "POST":
            self.send_error_code(405, None, "method not allowed")
            return
        if repo.gated and not self._authorized():
            status = 403 if self.headers.get("Authorization") else 401
            self.send_error_code(status, "GatedRepo", f"Access to model {repo.repo_id} is restricted")
            return
        tree = self._tree(repo, revision)
        if tree is None:
            return
        commit, files = tree
        f = files.get(filename)
        if f is None:
            self.send_error_code(404, "EntryNotFound", f"{filename} does not exist on {revision}")
            return
        lies = self.hub.lies
        etag = (lies.sha256 if f.lfs else lies.blob_id) or f.etag
        headers = {"X-Repo-Commit": lies.commit or commit, "ETag": f'"{etag}"'}
        if not f.lfs:
            self.send_bytes(f.data, headers)
            return
        location = f"{self.hub.cdn_endpoint}/blobs/{f.sha256}?repo={quote(repo.repo_id)}"
        headers |= {
            "X-Linked-Etag": f'"{lies.sha256 or f.sha256}"',
            "X-Linked-Size": str(lies.size or f.size),
            "Location": location,
        }
        self._send(302, b"", headers)

    def _route_api(self, segments: list[str]) -> None:
        found, rest = self._split_repo(segments)
        repo = self._visible(found)
        if repo is None:
            return
        if not rest and self.command == "GET":
            self._model_info(repo, "main")
        elif len(rest) == 2 and rest[0] == "revision" and self.command == "GET":
            self._model_info(repo, rest[1])
        elif len(rest) >= 2 and rest[0] == "tree" and self.command == "GET":
            self._list_tree(repo, rest[1], "/".join(rest[2:]))
        elif len(rest) == 2 and rest[0] == "paths-info" and self.command == "POST":
            self._paths_info(repo, rest[1])
        else:
            self.send_error_code(404, None, "no such API route")

    def _model_info(self, repo: HubRepo, revision: str) -> None:
        tree = self._tree(repo, revision)
        if tree is None:
            return
        commit, files = tree
        blobs = self.record.query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        lies = self.hub.lies
        for path, f in sorted(files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling |= {"size": lies.size or f.size, "blobId": lies.blob_id or f.blob_id}
                if f.lfs:
                    sibling["lfs"] = {
                        "sha256": lies.sha256 or f.sha256,
                        "size": lies.size or f.size,
                        "pointerSize": len(f.pointer),
                    }
            siblings.append(sibling)
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "sha": lies.commit or commit,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": ["gguf"] if any(p.endswith(".gguf") for p in files) else [],
            "lastModified": "2026-01-01T00:00:00.000Z",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": siblings,
        }
        self.send_json(info, headers={"X-Repo-Commit": lies.commit or commit})

    def _listed(self, repo: HubRepo) -> dict[str, Any]:
        """A repo as `/api/models` describes it (everything; `expand` picks from it)."""
        commit = repo.refs.get("main")
        files = repo.commits.get(commit, {}) if commit else {}
        card = repo.card
        tags = ["gguf"] if any(p.endswith(".gguf") for p in files) else []
        tags += [t for t in card.get("tags", []) if t not in tags]
        return {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": self.hub.lies.commit or commit,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "downloads": card.get("downloads", 0),
            "likes": card.get("likes", 0),
            "trendingScore": card.get("trendingScore", 0),
            "library_name": card.get("library_name", "gguf" if "gguf" in tags else None),
            "tags": tags,
            "createdAt": card.get("createdAt", "2026-01-01T00:00:00.000Z"),
            "lastModified": card.get("lastModified", "2026-01-01T00:00:00.000Z"),
            "siblings": [{"rfilename": path} for path in sorted(files)],
        }

    def _list_models(self) -> None:
        """`GET /api/models`: search (in the repo id, case-insensitive), filter (every one must
        match a tag or the library), sort (descending), limit, expand; pages of at most
        `models_page_size` items linked by a `Link: <...>; rel="next"` header with a cursor,
        as the Hub pages (huggingface_hub follows it)."""
        query = self.record.query
        search = query.get("search", [""])[0].lower()
        filters = query.get("filter", [])
        sort = query.get("sort", [""])[0]
        with self.hub.lock:
            repos = list(self.hub.repos.values())
        listed = [self._listed(repo) for repo in repos if not repo.private or self._authorized()]
        listed = [item for item in listed
                  if search in item["id"].lower()
                  and all(f in item["tags"] or f == item["library_name"] for f in filters)]
        if sort:
            if sort not in ("downloads", "likes", "trendingScore", "createdAt", "lastModified"):
                self.send_error_code(400, None, f"Invalid sort parameter: {sort}")
                return
            listed.sort(key=lambda item: item[sort], reverse=True)
        try:
            limit = int(query.get("limit", ["1000"])[0])
            start = int(query.get("cursor", ["0"])[0])
        except ValueError:
            self.send_error_code(400, None, "limit and cursor must be whole numbers")
            return
        size = max(1, min(limit, self.hub.models_page_size))
        page = listed[start : start + size]
        expand = query.get("expand", [])
        if expand:
            page = [{k: v for k, v in item.items() if k in expand or k in ("_id", "id")} for item in page]
        headers: dict[str, str] = {}
        if start + size < len(listed):
            rest = {k: v for k, v in query.items() if k != "cursor"}
            pairs = [(k, v) for k, values in rest.items() for v in values] + [("cursor", str(start + size))]
            from urllib.parse import urlencode

            headers["Link"] = f'<{self.hub.endpoint}/api/models?{urlencode(pairs)}>; rel="next"'
        self.send_json(page, headers=headers)

    def _entries(self, files: Mapping[str, HubFile], paths: list[str], recursive: bool) -> list[Any]:
        """Tree entries for `paths` (a file, or a folder's children); '' is the root."""
        entries: list[dict[str, Any]] = []
        for path in paths:
            if path in files:
                entries.append(files[path].tree_entry(path, self.hub.lies))
                continue
            prefix = f"{path}/" if path else ""
            folders: set[str] = set()
            for name in sorted(files):
                if not name.startswith(prefix):
                    continue
                head, _, tail = name[len(prefix) :].partition("/")
                if tail and not recursive:
                    folders.add(prefix + head)
                    continue
                if tail:
                    parts = name.split("/")
                    folders.update("/".join(parts[:i]) for i in range(len(prefix.split("/")), len(parts)))
                entries.append(files[name].tree_entry(name, self.hub.lies))
            for folder in sorted(f for f in folders if f):
                oid = hashlib.sha1(folder.encode()).hexdigest()
                entries.append({"type": "directory", "oid": oid, "size": 0, "path": folder})
        return entries

    def _list_tree(self, repo: HubRepo, revision: str, path: str) -> None:
        tree = self._tree(repo, revision)
        if tree is None:
            return
        _, files = tree
        if path and (path in files or not any(n.startswith(f"{path}/") for n in files)):
            self.send_error_code(404, "EntryNotFound", f"{path} is not a folder on {revision}")
            return
        recursive = self.record.query.get("recursive", ["false"])[0].lower() == "true"
        self.send_json(self._entries(files, [path], recursive))

    def _paths_info(self, repo: HubRepo, revision: str) -> None:
        tree = self._tree(repo, revision)
        if tree is None:
            return
        _, files = tree
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = list(json.loads(body).get("paths", []))
        else:
            paths = parse_qs(body).get("paths", [])
        found = [p for p in paths if p in files or any(n.startswith(f"{p}/") for n in files)]
        entries = []
        for p in found:
            if p in files:
                entries.append(files[p].tree_entry(p, self.hub.lies))
            else:
                entries.append({"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(), "path": p})
        self.send_json(entries)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """[start, stop) of a single `bytes=` range, or None when it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:  # suffix: the last N bytes
            n = int(last)
            return (max(0, size - n), size) if n > 0 and size else None
        start = int(first)
        stop = min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    return (start, stop) if start < size and start < stop else None


@contextmanager
def running_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A started stand-in Hub with huggingface_hub's default endpoint pointed at it."""
    from huggingface_hub import constants

    with HubServer() as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            server.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        )
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield server


def instant_hub_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """huggingface_hub's retry waits return at once; the list records the waits asked for."""
    import time

    from huggingface_hub.utils import _http

    waits: list[float] = []
    public = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    fake_time = SimpleNamespace(**public)
    fake_time.sleep = waits.append
    monkeypatch.setattr(_http, "time", fake_time)
    return waits


# Fault injection: hooks for `HubServer.hooks` that break CDN downloads the ways the
# network and the Hub do. Each counts its own uses; `times=None` means every request.


@dataclass
class Fault:
    """A hook with a budget: acts on matching requests until `times` is spent."""

    action: Callable[[HubHandler, RequestRecord], None]
    server: str = "cdn"
    method: str | None = "GET"
    times: int | None = 1
    used: int = 0

    def __call__(self, handler: HubHandler, record: RequestRecord) -> bool:
        if record.server != self.server or (self.method is not None and record.method != self.method):
            return False
        with handler.hub.lock:
            if self.times is not None and self.used >= self.times:
                return False
            self.used += 1
        length = int(handler.headers.get("Content-Length") or 0)
        if length:  # read a POST's body, or it would be taken for the next request on the connection
            handler.rfile.read(length)
        self.action(handler, record)
        return True


def _cdn_body(handler: HubHandler) -> tuple[int, bytes, dict[str, str]] | None:
    """What the CDN would answer (status, body, headers), honouring Range; None when not a blob."""
    parts = handler.record.path.strip("/").split("/")
    blob = handler.hub.blob(parts[1]) if len(parts) == 2 and parts[0] == "blobs" else None
    if blob is None:
        return None
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    requested = handler.headers.get("Range")
    if requested is None:
        return 200, blob.data, headers
    span = _parse_range(requested, blob.size)
    if span is None:
        return None
    start, stop = span
    return 206, blob.data[start:stop], {**headers, "Content-Range": f"bytes {start}-{stop - 1}/{blob.size}"}


def _stream_body(
    handler: HubHandler,
    send_bytes: int | None = None,
    bytes_per_second: float | None = None,
    transform: Callable[[bytes], bytes] | None = None,
    pause: tuple[int, threading.Event] | None = None,
    step: int = 64 * 1024,
) -> None:
    """Send the CDN answer with its full Content-Length, but maybe only part of the body, maybe slowly."""
    import time

    answer = _cdn_body(handler)
    if answer is None:
        handler.send_error_code(404, None, "no such blob")
        return
    status, body, headers = answer
    if transform is not None:
        body = transform(body)
    handler.record.status = status
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    limit = len(body) if send_bytes is None else min(send_bytes, len(body))
    started = time.monotonic()
    try:
        for offset in range(0, limit, step):
            if pause is not None and offset <= pause[0] < offset + step:
                handler.wfile.write(body[offset : pause[0]])
                handler.wfile.flush()
                pause[1].wait(timeout=60)
                handler.wfile.write(body[pause[0] : min(offset + step, limit)])
                continue
            handler.wfile.write(body[offset : min(offset + step, limit)])
            if bytes_per_second:
                ahead = (offset + step) / bytes_per_second - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        handler.wfile.flush()
    except OSError:  # the client went away (killed, interrupted): nothing to do
        pass
    if limit < len(body):
        handler.close_connection = True  # the client sees the body end early


def cut_connection(after_bytes: int, times: int | None = 1) -> Fault:
    """Send `after_bytes` of a download's body, then drop the connection."""
    return Fault(lambda handler, _: _stream_body(handler, send_bytes=after_bytes), times=times)


def error_status(
    status: int,
    times: int | None = 1,
    server: str = "cdn",
    method: str | None = "GET",
    retry_after_seconds: int | None = None,
) -> Fault:
    """Answer `status` (e.g. 500, or 429 with a Retry-After) instead of the file."""
    headers = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds is not None else {}
    return Fault(
        lambda handler, _: handler.send_json({"error": f"injected HTTP {status}"}, status, headers),
        server=server,
        method=method,
        times=times,
    )


def slow_body(bytes_per_second: float, times: int | None = None, step_bytes: int = 64 * 1024) -> Fault:
    """Serve download bodies at about `bytes_per_second`, `step_bytes` at a time."""
    return Fault(
        lambda handler, _: _stream_body(handler, bytes_per_second=bytes_per_second, step=step_bytes),
        times=times,
    )


def stall(seconds: float, times: int | None = 1) -> Fault:
    """Wait `seconds` before answering at all (a server that hangs)."""
    import time

    def action(handler: HubHandler, _: RequestRecord) -> None:
        time.sleep(seconds)
        _stream_body(handler)

    return Fault(action, times=times)


def corrupt_body(times: int | None = None) -> Fault:
    """Serve the right length but flip one byte: the sha256 will not match."""

    def flip(body: bytes) -> bytes:
        if not body:
            return body
        middle = len(body) // 2
        return body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]

    return Fault(lambda handler, _: _stream_body(handler, transform=flip), times=times)


def pause_body(
    after_bytes: int,
    release: threading.Event,
    times: int | None = 1,
    bytes_per_second: float | None = None,
) -> Fault:
    """Send `after_bytes` (at `bytes_per_second`), then hold the rest until `release` is set."""
    return Fault(
        lambda handler, _: _stream_body(
            handler, bytes_per_second=bytes_per_second, pause=(after_bytes, release)
        ),
        times=times,
    )
