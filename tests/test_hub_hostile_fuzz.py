"""Seeded fuzz: hostile names, hashes, commits and revisions never move a byte outside the lane.

Each case runs the real download and `catalog add hf://` code in-process against the
stand-in Hub, lying in one place; afterwards every file outside the HF cache, the
--dir folder and picker's home must be as it was, and any failure must be picker's
own one-line error, never another exception.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from picker.errors import PickerError
from tests.hub_server import HubServer, Lies
from tests.test_hub_hostile import Lane
from tests.tiny_gguf import write_tiny_gguf

REPO = "owner/fuzz-GGUF"
CASES = 160
PIECES = [
    "..", ".", "", "/", "//", "\\", "..\\..", "\x00", "\n", "\r", "\t", "\x1b[2J", "\x1b]52;c;aGk=\x07",
    "\u202e", "\x9b", "\u2028", "C:", "~", "%2e%2e", "a" * 300, "é", " ", "outside", "x.gguf",
    "-Q8_0.gguf", "blobs", "snapshots", "refs", "main", "0" * 40, "f" * 64, "F" * 64,
]


def hostile_value(rng: random.Random, outside: Path) -> str:
    value = "".join(rng.choice(PIECES) + rng.choice(["/", "", "", "/../"]) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.2:
        value = f"{outside}/{value}"
    elif rng.random() < 0.2:
        value = "../" * rng.randint(1, 8) + "outside/victim.gguf"
    return value


@pytest.fixture
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("fuzz-model") / "m.gguf"
    write_tiny_gguf(path)
    return path.read_bytes()


def test_hostile_values_stay_in_their_lane(
    hub_server: HubServer, tmp_path: Path, model_bytes: bytes, hub_no_backoff: list[float]
) -> None:
    from picker.catalog import load_catalog
    from picker.catalog.useradd import add_hub
    from picker.hub import RetryPolicy, download_target
    from picker.hub.settings import resolve_settings

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.gguf").write_bytes(b"precious\n")
    downloads = tmp_path / "downloads"
    lane = Lane(tmp_path, downloads)
    catalog = load_catalog()
    user_dir = Path(os.environ["PICKER_HOME"]) / "user-catalog"
    policy = RetryPolicy(max_attempts=1, sleep=lambda _: None)
    rng = random.Random(20261206)
    outcomes: dict[str, int] = {}
    for case in range(CASES):
        kind = rng.choice(["sha256", "commit", "blob_id", "file name", "revision"])
        value = hostile_value(rng, outside)
        name = "ok-Q8_0.gguf"
        revision = "main"
        hub_server.lies = Lies()
        if kind == "file name":
            name = value + rng.choice(["", "-Q8_0.gguf", ".gguf"])
        elif kind == "revision":
            revision = value
        else:
            setattr(hub_server.lies, kind.replace(" ", "_"), value)
        hub_server.add_repo(REPO, {name: model_bytes, "ok-Q8_0.gguf": model_bytes})
        directory = downloads if rng.random() < 0.5 else None
        for action in ("download", "catalog add"):
            try:
                if action == "download":
                    download_target(f"hf://{REPO}/{name}@{revision}", directory, policy=policy)
                else:
                    add_hub(REPO, catalog, user_dir, model_id=f"fuzz-{case}",
                            settings=resolve_settings(policy=policy))
                outcome = "done"
            except PickerError as error:
                assert "\n" not in error.message and "\x1b" not in error.message, (kind, value)
                outcome = type(error).__name__
            key = f"{kind} / {action}: {outcome}"
            outcomes[key] = outcomes.get(key, 0) + 1
            lane.assert_untouched()
    # The lies were refused, not merely harmless: every kind was turned away at least once.
    for kind in ("sha256", "commit", "blob_id", "file name", "revision"):
        assert any(k.startswith(kind) and not k.endswith("done") for k in outcomes), outcomes
