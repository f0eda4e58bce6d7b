"""The stand-in Hub answers huggingface_hub's real calls the way huggingface.co does."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from huggingface_hub import (
    HfApi,
    HfFileSystem,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub import errors as hf_errors

from tests.hub_server import HubServer

GGUF_BYTES = b"GGUF" + bytes(range(256)) * 40
README = b"# a model card\n"


@pytest.fixture
def repo(hub_server: HubServer) -> str:
    hub_server.add_repo(
        "owner/model-GGUF",
        {"model-Q4_K_M.gguf": GGUF_BYTES, "README.md": README, "sub/dir/extra.gguf": b"GGUFxx"},
    )
    return "owner/model-GGUF"


def test_model_info_lists_siblings_with_lfs_metadata(hub_server: HubServer, repo: str) -> None:
    info = HfApi().model_info(repo, files_metadata=True)
    assert info.id == repo
    assert info.sha == hub_server.repos[repo].refs["main"]
    by_name = {s.rfilename: s for s in info.siblings or []}
    assert set(by_name) == {"model-Q4_K_M.gguf", "README.md", "sub/dir/extra.gguf"}
    gguf = by_name["model-Q4_K_M.gguf"]
    assert gguf.size == len(GGUF_BYTES)
    assert gguf.lfs is not None and gguf.lfs.size == len(GGUF_BYTES)
    import hashlib

    assert gguf.lfs.sha256 == hashlib.sha256(GGUF_BYTES).hexdigest()
    assert by_name["README.md"].lfs is None


def test_model_info_at_a_revision(hub_server: HubServer, repo: str) -> None:
    old = hub_server.repos[repo].refs["main"]
    new = hub_server.add_commit(repo, {"new.gguf": b"GGUF"})
    assert new != old
    assert HfApi().model_info(repo, revision=old).sha == old
    names = {s.rfilename for s in HfApi().model_info(repo).siblings or []}
    assert "new.gguf" in names
    assert hub_server.requests_to(f"/api/models/{repo}/revision/{old}")


def test_tree_and_paths_info(repo: str) -> None:
    api = HfApi()
    assert sorted(api.list_repo_files(repo)) == ["README.md", "model-Q4_K_M.gguf", "sub/dir/extra.gguf"]
    top = {e.path: type(e).__name__ for e in api.list_repo_tree(repo)}
    assert top == {"README.md": "RepoFile", "model-Q4_K_M.gguf": "RepoFile", "sub": "RepoFolder"}
    infos = api.get_paths_info(repo, ["model-Q4_K_M.gguf", "sub", "missing.gguf"])
    assert [i.path for i in infos] == ["model-Q4_K_M.gguf", "sub"]
    file_info = infos[0]
    assert getattr(file_info, "lfs", None) is not None
    assert file_info.size == len(GGUF_BYTES)  # type: ignore[union-attr]


def test_file_metadata_redirects_lfs_files_to_the_cdn(hub_server: HubServer, repo: str) -> None:
    meta = get_hf_file_metadata(hf_hub_url(repo, "model-Q4_K_M.gguf"))
    assert meta.size == len(GGUF_BYTES)
    assert meta.commit_hash == hub_server.repos[repo].refs["main"]
    assert meta.location.startswith(hub_server.cdn_endpoint)
    small = get_hf_file_metadata(hf_hub_url(repo, "README.md"))
    assert small.size == len(README)
    assert small.location.startswith(hub_server.endpoint)


def test_download_through_redirect_and_direct(hub_server: HubServer, repo: str, tmp_path: Path) -> None:
    path = hf_hub_download(repo, "model-Q4_K_M.gguf", cache_dir=tmp_path)
    assert Path(path).read_bytes() == GGUF_BYTES
    assert hub_server.requests_to("/blobs/", "GET")
    assert Path(hf_hub_download(repo, "README.md", cache_dir=tmp_path)).read_bytes() == README


def test_range_reads_answer_206(hub_server: HubServer, repo: str) -> None:
    fs = HfFileSystem()
    with fs.open(f"{repo}/model-Q4_K_M.gguf", "rb") as f:
        f.seek(4)
        assert f.read(10) == GGUF_BYTES[4:14]
    ranged = [r for r in hub_server.requests if r.range]
    assert {(r.server, r.status) for r in ranged} == {("hub", 302), ("cdn", 206)}
    response = httpx2.get(
        hub_server.file_url(repo, "model-Q4_K_M.gguf"), headers={"Range": "bytes=-4"}, follow_redirects=True
    )
    assert response.status_code == 206
    assert response.content == GGUF_BYTES[-4:]
    size = len(GGUF_BYTES)
    assert response.headers["Content-Range"] == f"bytes {size - 4}-{size - 1}/{size}"
    beyond = httpx2.get(
        hub_server.file_url(repo, "README.md"), headers={"Range": f"bytes={len(README)}-"}
    )
    assert beyond.status_code == 416


def test_errors_carry_the_hub_error_codes(hub_server: HubServer, repo: str, tmp_path: Path) -> None:
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        HfApi().model_info("owner/nope")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        hf_hub_download("owner/nope", "x.gguf", cache_dir=tmp_path)
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download(repo, "missing.gguf", cache_dir=tmp_path)
    with pytest.raises(hf_errors.RevisionNotFoundError):
        hf_hub_download(repo, "README.md", revision="v9", cache_dir=tmp_path)
    with pytest.raises(hf_errors.RevisionNotFoundError):
        HfApi().model_info(repo, revision="v9")
    assert {r.status for r in hub_server.requests} >= {401, 404}


def test_gated_and_private_repos_need_an_accepted_token(hub_server: HubServer, tmp_path: Path) -> None:
    hub_server.add_repo("org/gated", {"m.gguf": GGUF_BYTES}, gated=True)
    hub_server.add_repo("org/private", {"m.gguf": GGUF_BYTES}, private=True)
    assert HfApi().model_info("org/gated").gated == "manual"  # metadata stays public
    with pytest.raises(hf_errors.GatedRepoError):
        hf_hub_download("org/gated", "m.gguf", cache_dir=tmp_path)
    with pytest.raises(hf_errors.GatedRepoError):
        hf_hub_download("org/gated", "m.gguf", cache_dir=tmp_path, token="hf_not_approved")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        HfApi().model_info("org/private")
    hub_server.tokens.add("hf_good")
    assert Path(hf_hub_download("org/gated", "m.gguf", cache_dir=tmp_path, token="hf_good")).read_bytes() == (
        GGUF_BYTES
    )
    assert HfApi(token="hf_good").model_info("org/private").private is True
    sent = [r.authorization for r in hub_server.requests if r.server == "hub" and r.authorization]
    assert "Bearer hf_good" in sent
    # the signed CDN URL is another origin: the token never goes there
    assert all(r.authorization is None for r in hub_server.requests if r.server == "cdn")


def test_hooks_can_take_over_requests(hub_server: HubServer, repo: str, hub_no_backoff: list[float]) -> None:
    calls: list[str] = []

    def fail_once(handler, record) -> bool:  # type: ignore[no-untyped-def]
        if record.path.endswith("README.md") and not calls:
            calls.append(record.path)
            handler.send_error_code(500, None, "boom")
            return True
        return False

    hub_server.hooks.append(fail_once)
    assert HfFileSystem().cat_file(f"{repo}/README.md") == README
    assert calls and next(r.status for r in hub_server.requests_to("README.md")) == 500
