"""`picker catalog update FILE|URL` and `picker catalog stats`: newer data without a release,
validated before it is kept, swapped in whole, and the catalog's age said plainly."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from picker.catalog import load_catalog, shipped_data_dir
from picker.catalog.update import make_bundle, shipped_stamp
from picker.cli import main

SHIPPED = Path(str(shipped_data_dir()))


def renamed_family(name: str = "small.toml", prefix: str = "upd-") -> str:
    """A shipped family file whose models all get new ids (so it can sit beside the original)."""
    text = (SHIPPED / name).read_text()
    text = re.sub(r'^id = "', f'id = "{prefix}', text, flags=re.MULTILINE)
    return re.sub(r'^family = "[^"]+"', 'family = "updated"', text, count=1, flags=re.MULTILINE)


def bundle(tmp_path: Path, files: dict[str, str], created: str = "2099-01-01", *,
           as_toml: bool = False, **changes: Any) -> Path:
    document = {"format": "picker-catalog-bundle", "format_version": 1, "created": created,
                "description": "test data", "files": files, **changes}
    if as_toml:
        path = tmp_path / "bundle.toml"
        lines = [f"{key} = {json.dumps(value)}" for key, value in document.items() if key != "files"]
        lines.append("[files]")
        lines += [f"{json.dumps(name)} = {json.dumps(text)}" for name, text in files.items()]
        path.write_text("\n".join(lines) + "\n")
        return path
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(document))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def kept_folder() -> Path:
    from picker.paths import picker_paths

    return picker_paths().data_dir / "catalog-update"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


@pytest.mark.parametrize("as_toml", [False, True])
def test_a_bundle_adds_a_family_that_every_command_then_sees(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], as_toml: bool) -> None:
    before = len(load_catalog().models)
    path = bundle(tmp_path, {"updated.toml": renamed_family()}, as_toml=as_toml)
    code, out, err = run(capsys, "catalog", "update", str(path))
    assert code == 0 and "2099-01-01" in out and err == ""
    catalog = load_catalog()
    added = [m for m in catalog.models if m.family == "updated"]
    assert added and all(m.id.startswith("upd-") for m in added)
    assert len(catalog.models) == before + len(added)
    code, out, _ = run(capsys, "catalog", "show", added[0].id)
    assert code == 0 and added[0].name in out


def test_a_bundle_replaces_the_shipped_family_of_the_same_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = (SHIPPED / "small.toml").read_text()
    first = load_catalog().models[0]
    changed = original.replace('name = "SmolLM2 135M Instruct"', 'name = "SmolLM2 135M (updated)"')
    assert changed != original
    before = len(load_catalog().models)
    assert run(capsys, "catalog", "update", str(bundle(tmp_path, {"small.toml": changed})))[0] == 0
    catalog = load_catalog()
    assert len(catalog.models) == before  # replaced, not added beside (no duplicate ids)
    assert catalog.model("smollm2-135m-instruct").name == "SmolLM2 135M (updated)"  # type: ignore[union-attr]
    assert catalog.model(first.id) is not None


def test_a_bundle_that_would_not_load_is_refused_and_nothing_changes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = bundle(tmp_path, {"updated.toml": renamed_family()})
    assert run(capsys, "catalog", "update", str(good))[0] == 0
    kept = snapshot(kept_folder())
    broken = renamed_family(prefix="bad-").replace(
        'source = "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct", ', "", 1)
    bad_folder = tmp_path / "bad"
    bad_folder.mkdir()
    code, out, err = run(capsys, "catalog", "update", str(bundle(bad_folder, {"updated.toml": broken})))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "refused the catalog update, nothing was changed" in err and "source" in err
    assert snapshot(kept_folder()) == kept
    assert not list(kept_folder().parent.glob("catalog-update.*"))  # no half-written folder left
    assert any(m.id.startswith("upd-") for m in load_catalog().models)


@pytest.mark.parametrize("changes, message", [
    ({"format": "something-else"}, "not a picker catalog bundle"),
    ({"format_version": 2}, "format version 2"),
    ({"created": "last week"}, "YYYY-MM-DD"),
    ({"files": {}}, "\"files\""),
    ({"files": {"../evil.toml": "family = 'x'"}}, "must be named like"),
    ({"files": {"Evil\x1b.toml": "x"}}, "must be named like"),
])
def test_what_is_not_a_bundle_is_a_one_line_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, Any],
        message: str) -> None:
    files = changes.pop("files", {"updated.toml": renamed_family()})
    path = bundle(tmp_path, files, **changes)
    code, out, err = run(capsys, "catalog", "update", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    assert "\x1b" not in err
    assert not kept_folder().exists()


def test_files_that_are_not_bundles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "bad.json").write_text("{not json")
    for name, message, exit_code in (("bin.json", "not UTF-8", 2), ("bad.json", "not valid JSON", 2),
                                     ("missing.json", "no such file", 3)):
        code, _, err = run(capsys, "catalog", "update", str(tmp_path / name))
        assert code == exit_code and err.count("\n") == 1 and message in err
    code, _, err = run(capsys, "catalog", "update", str(tmp_path))  # a folder
    assert code == 2 and "not a plain file" in err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving tmp_path."""
    root = tmp_path

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_bundle_from_a_url(tmp_path: Path, served: str, capsys: pytest.CaptureFixture[str]) -> None:
    bundle(tmp_path, {"updated.toml": renamed_family()})
    code, out, _ = run(capsys, "catalog", "update", f"{served}/bundle.json", "--json")
    assert code == 0 and json.loads(out)["update"]["source"] == f"{served}/bundle.json"
    code, _, err = run(capsys, "catalog", "update", f"{served}/nothing.json")
    assert code == 4 and "HTTP 404" in err
    code, _, err = run(capsys, "catalog", "update", "http://example.com/bundle.json")
    assert code == 2 and "https://" in err  # plain http off this machine: refused, never fetched


def test_remove_returns_to_the_shipped_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = len(load_catalog().models)
    run(capsys, "catalog", "update", str(bundle(tmp_path, {"updated.toml": renamed_family()})))
    assert len(load_catalog().models) > before
    code, out, _ = run(capsys, "catalog", "update", "--remove")
    assert code == 0 and "Removed" in out and not kept_folder().exists()
    assert len(load_catalog().models) == before
    assert run(capsys, "catalog", "update")[0] == 2  # neither a source nor --remove


def test_an_update_older_than_the_shipped_catalog_is_not_used(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundle(tmp_path, {"updated.toml": renamed_family()}, created="2020-01-01")
    code, _, err = run(capsys, "catalog", "update", str(path))
    assert code == 0 and "older than this picker's shipped catalog" in err
    assert not any(m.id.startswith("upd-") for m in load_catalog().models)
    code, out, _ = run(capsys, "catalog", "stats", "--json")
    assert json.loads(out)["stats"]["update"]["in_use"] is False


def test_stats_say_how_old_the_catalog_is_and_what_it_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_catalog()
    code, out, _ = run(capsys, "catalog", "stats", "--json")
    stats = json.loads(out)["stats"]
    assert code == 0 and stats["update"] is None
    newest = max(m.released for m in catalog.models)
    assert stats["newest_release"]["released"] == newest
    assert stats["newest_release"]["days_ago"] == (
        dt.date.fromisoformat(stats["today"]) - dt.date.fromisoformat(newest)).days
    assert stats["shipped_data_updated"] == shipped_stamp()
    assert sum(stats["by_family"].values()) == sum(stats["by_architecture"].values()) == len(catalog.models)
    quants = [q for m in catalog.models for q in m.quantizations]
    assert stats["quantizations"] == {"exact": sum(not q.size_estimated for q in quants),
                                      "estimated": sum(q.size_estimated for q in quants)}
    assert stats["models_with_scores"] + len(stats["models_without_scores"]) == len(catalog.models)
    run(capsys, "catalog", "update", str(bundle(tmp_path, {"updated.toml": renamed_family()})))
    code, text, _ = run(capsys, "catalog", "stats")
    assert "created 2099-01-01" in text and "in use" in text and "newest model" in text


def test_the_shipped_stamp_is_not_older_than_any_model_it_lists() -> None:
    stamp = shipped_stamp()
    assert stamp, "catalog/updated.json must say when the shipped data last changed"
    newest = max(m.released for m in load_catalog().models)
    assert stamp >= newest, f"a model released {newest} is newer than catalog/updated.json ({stamp})"


def test_make_bundle_round_trips_the_shipped_files(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = make_bundle(SHIPPED, "2099-02-02", "everything shipped")
    path = tmp_path / "all.json"
    path.write_text(json.dumps(document))
    before = sorted(m.id for m in load_catalog().models)
    assert run(capsys, "catalog", "update", str(path))[0] == 0
    assert sorted(m.id for m in load_catalog().models) == before
