"""A hostile Hub, mirror or catalog cannot write, delete or print outside picker's folders.

Each attack runs the real CLI against the stand-in Hub in hostile mode (`Lies`, or
hostile file names), with a folder "outside" that must stay byte-for-byte as it was,
and every other file outside the cache, the --dir folder and picker's own home too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.cli_helpers import CliResult, run_picker
from tests.hub_server import HubServer, Lies
from tests.tiny_gguf import write_tiny_gguf

REPO = "owner/model-GGUF"
PAYLOAD = os.urandom(300_000)
VICTIM_BYTES = b"precious\n"


def tree_state(root: Path, skip: tuple[Path, ...]) -> dict[str, object]:
    """Every file, folder and link under `root` (not under `skip`), with its bytes or target."""
    state: dict[str, object] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        if any(here == s or s in here.parents for s in skip):
            dirs.clear()
            continue
        for name in dirs + files:
            path = here / name
            if path in skip:
                continue
            key = str(path.relative_to(root))
            if path.is_symlink():
                state[key] = ("link", os.readlink(path))
            elif path.is_file():
                state[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                state[key] = ("dir",)
    return state


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("victim.gguf", "x.gguf", "model-Q8_0.gguf"):
        (folder / name).write_bytes(VICTIM_BYTES)
    return folder


class Lane:
    """The folders picker may write (HF cache, picker's home, a --dir) and a check of the rest."""

    def __init__(self, tmp_path: Path, download_dir: Path) -> None:
        self.tmp_path = tmp_path
        self.allowed = (
            Path(os.environ["HF_HOME"]), Path(os.environ["PICKER_HOME"]), download_dir,
        )
        self.before = tree_state(tmp_path, self.allowed)

    def assert_untouched(self) -> None:
        assert tree_state(self.tmp_path, self.allowed) == self.before


@pytest.fixture
def lane(tmp_path: Path, outside: Path) -> Lane:
    return Lane(tmp_path, tmp_path / "downloads")


def one_error_line(result: CliResult) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("picker: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr + result.stdout
    return lines[0]


def download(*args: str) -> CliResult:
    return run_picker("download", *args)


@pytest.mark.parametrize("in_dir", [False, True], ids=["cache", "dir"])
def test_a_sha256_that_climbs_out_is_refused(
    hub_server: HubServer, lane: Lane, tmp_path: Path, in_dir: bool
) -> None:
    hub_server.add_repo(REPO, {"model-Q8_0.gguf": PAYLOAD})
    hub_server.lies = Lies(sha256="../../../../outside/victim.gguf")
    extra = ["--dir", str(tmp_path / "downloads")] if in_dir else []
    result = download(f"hf://{REPO}/model-Q8_0.gguf", *extra)
    assert result.returncode == 6
    assert "refusing the sha256" in one_error_line(result)
    lane.assert_untouched()


def test_a_commit_id_that_climbs_out_is_refused(hub_server: HubServer, lane: Lane) -> None:
    hub_server.add_repo(REPO, {"x.gguf": PAYLOAD})
    hub_server.lies = Lies(commit="../../../../outside")
    result = download(f"hf://{REPO}/x.gguf")
    assert result.returncode == 6
    assert "refusing the commit id" in one_error_line(result)
    lane.assert_untouched()


@pytest.mark.parametrize("in_dir", [False, True], ids=["cache", "dir"])
def test_a_link_planted_at_the_partial_file_is_not_followed(
    hub_server: HubServer, lane: Lane, tmp_path: Path, outside: Path, in_dir: bool
) -> None:
    hub_server.add_repo(REPO, {"model-Q8_0.gguf": PAYLOAD})
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    if in_dir:
        work = tmp_path / "downloads" / ".cache" / "picker"
    else:
        work = Path(os.environ["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}" / "blobs"
    work.mkdir(parents=True)
    (work / f"{sha}.part").symlink_to(outside / "victim.gguf")
    lane = Lane(tmp_path, tmp_path / "downloads")
    extra = ["--dir", str(tmp_path / "downloads")] if in_dir else []
    result = download(f"hf://{REPO}/model-Q8_0.gguf", *extra)
    assert result.returncode == 6
    assert "symbolic link" in one_error_line(result)
    assert (outside / "victim.gguf").read_bytes() == VICTIM_BYTES
    lane.assert_untouched()


@pytest.mark.parametrize("revision", ["../../x", "../../../../outside", "/abs", "a\\b", "ref\x1b[2J"])
def test_a_revision_that_climbs_out_is_a_usage_error(
    hub_server: HubServer, lane: Lane, revision: str
) -> None:
    hub_server.add_repo(REPO, {"x.gguf": PAYLOAD})
    result = download(f"hf://{REPO}/x.gguf@{revision}")
    assert result.returncode == 2
    assert "revision" in one_error_line(result)
    assert not hub_server.requests
    lane.assert_untouched()


def hostile_names(outside: Path) -> list[str]:
    return [
        "../../../../outside/evil-Q8_0.gguf",
        f"{outside}/x-Q6_K.gguf",
        "sub/../../evil-Q5_K_M.gguf",
        "line\nbreak-Q4_K_M.gguf",
        "title\x1b]0;owned\x07-Q3_K_M.gguf",
        "back\\slash-Q2_K.gguf",
    ]


def test_catalog_add_refuses_a_repo_with_hostile_file_names(
    hub_server: HubServer, lane: Lane, outside: Path
) -> None:
    for name in hostile_names(outside):
        hub_server.add_repo(REPO, {name: PAYLOAD, "README.md": "hi"})
        result = run_picker("catalog", "add", f"hf://{REPO}")
        assert result.returncode == 6, (name, result.stderr)
        assert "refusing the file name" in one_error_line(result)
        user_catalog = Path(os.environ["PICKER_HOME"])
        assert not list(user_catalog.rglob("added.toml"))
        lane.assert_untouched()


def test_a_planted_user_catalog_cannot_aim_a_download_outside(
    hub_server: HubServer, outside: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.gguf"
    write_tiny_gguf(model)
    hub_server.add_repo(REPO, {"ok-Q8_0.gguf": model})
    added = run_picker("catalog", "add", f"hf://{REPO}")
    assert added.returncode == 0, added.stderr
    user_file = next(Path(os.environ["PICKER_HOME"]).rglob("added.toml"))
    text = user_file.read_text()
    assert "ok-Q8_0.gguf" in text
    model_id = added.stdout.split("Added ", 1)[1].split(" ", 1)[0].rstrip(",")
    for name in ("../../../../outside/model-Q8_0.gguf", f"{outside}/model-Q8_0.gguf"):
        hub_server.add_repo(REPO, {name: model, "ok-Q8_0.gguf": model})
        user_file.write_text(text.replace("ok-Q8_0.gguf", name))
        lane = Lane(tmp_path, tmp_path / "downloads")
        for extra in ([], ["--dir", str(tmp_path / "downloads")]):
            result = download(f"{model_id}:Q8_0", *extra)
            assert result.returncode != 0, result.stdout
            one_error_line(result)
            lane.assert_untouched()


def test_a_server_that_trickles_bytes_is_a_stall_with_a_clear_error(
    hub_server: HubServer, tmp_path: Path
) -> None:
    import time

    from picker.errors import NetworkError
    from picker.hub import download_target
    from picker.hub.settings import RetryPolicy
    from tests.hub_server import slow_body

    hub_server.add_repo(REPO, {"model-Q8_0.gguf": PAYLOAD})
    hub_server.hooks.append(slow_body(bytes_per_second=20_000, step_bytes=1_000))  # a trickle
    policy = RetryPolicy(max_attempts=3, stall_seconds=0.3, stall_min_bytes=64 * 1024, sleep=lambda _: None)
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        download_target(f"hf://{REPO}/model-Q8_0.gguf", tmp_path / "downloads", policy=policy)
    assert time.monotonic() - started < 5  # three stalls of 0.3 s, not the 15 s of a finished download
    message = caught.value.message
    assert "stalled" in message and "3 times" in message and "resume" in message, message
    kept = list((tmp_path / "downloads" / ".cache" / "picker").glob("*.part"))
    assert len(kept) == 1 and 0 < kept[0].stat().st_size < len(PAYLOAD)


@pytest.mark.parametrize("damage", ["list", "deep", "fifo", "text"])
def test_damaged_records_on_disk_neither_crash_nor_hang_a_download(
    hub_server: HubServer, damage: str
) -> None:
    hub_server.add_repo(REPO, {"model-Q8_0.gguf": PAYLOAD})
    target = f"hf://{REPO}/model-Q8_0.gguf@v1"
    hub_server.repos[REPO].refs["v1"] = hub_server.repos[REPO].refs["main"]
    assert download(target).returncode == 0
    records = list((Path(os.environ["PICKER_HOME"]) / "cache" / "hub-verified").glob("*.json"))
    ref = Path(os.environ["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}" / "refs" / "v1"
    assert records and ref.is_file()
    for path in [*records, ref]:
        path.unlink()
        if damage == "fifo":
            os.mkfifo(path)
        else:
            path.write_text({"list": "[1, 2]", "deep": "[" * 100_000, "text": "../../../../outside"}[damage])
    again = download(target)  # the record is not trusted: the file is hashed again
    assert again.returncode == 0, again.stderr
    if damage != "fifo":  # a ref that is not a commit id is not followed offline
        ref.write_text("../../../../outside")
    offline = run_picker("download", target, env={"HF_HUB_OFFLINE": "1"}, timeout=20)
    assert offline.returncode in (0, 4), offline.stderr
    assert "Traceback" not in offline.stderr
