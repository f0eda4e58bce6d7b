"""Cache files are written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from picker.cachefiles import checksum, write_whole


def test_a_write_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "copy.bin"
    target.mkdir()  # a directory where the file belongs: the rename fails
    assert write_whole(target, b"data") is False
    assert [p.name for p in tmp_path.iterdir()] == ["copy.bin"] and target.is_dir()
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    assert write_whole(blocked / "inside" / "copy.bin", b"data") is False  # no folder can be made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.bin", "file"]


def test_a_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "copy.bin"
    assert write_whole(target, b"first version, longer") is True
    assert write_whole(target, b"second") is True
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]


def test_checksums_tell_parts_apart() -> None:
    assert checksum(["a", "b"]) == checksum(["a", "b"])
    assert len({checksum(["a", "b"]), checksum(["ab"]), checksum(["b", "a"])}) == 3
