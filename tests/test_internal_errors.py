"""A bug inside picker reaches the user as one line and exit code 70, never a traceback; and
the what-if machine that first showed one (a hybrid model's device holding only recurrent
blocks) plans."""

from __future__ import annotations

import json

import pytest

from picker import cli
from picker.errors import ExitCode
from tests.cli_helpers import run_picker


def _broken_ranking(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("planted")


@pytest.mark.parametrize("as_json", [False, True])
def test_a_bug_is_one_line_with_where_it_happened(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str],
                                                  as_json: bool) -> None:
    from picker.rank import engine

    monkeypatch.delenv("PICKER_DEBUG", raising=False)
    monkeypatch.setattr(engine, "recommend", _broken_ranking)
    code = cli.main(["--json", "recommend"] if as_json else ["recommend"])
    captured = capsys.readouterr()
    assert code == int(ExitCode.INTERNAL) == 70
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith("picker: error: internal error (a bug in picker): AssertionError")
    assert "planted" in lines[0] and "PICKER_DEBUG=1" in lines[0]
    assert "test_internal_errors.py" not in lines[0]  # picker's own innermost frame, not ours
    if as_json:
        error = json.loads(captured.out)["error"]
        assert error["code"] == "internal_error" and error["exit_code"] == 70


def test_picker_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from picker.rank import engine

    monkeypatch.setenv("PICKER_DEBUG", "1")
    monkeypatch.setattr(engine, "recommend", _broken_ranking)
    with pytest.raises(AssertionError, match="planted"):
        cli.main(["recommend"])


def test_a_device_with_only_recurrent_blocks_plans() -> None:
    # A 6 GB GPU beside a 48 GB one gets a few blocks of Qwen3.5 / Qwen3-Next: all of them
    # DeltaNet blocks, whose graph still has a positions input (it raised AssertionError).
    result = run_picker("--json", "recommend", "--use-case", "long-context", "--ram", "16G",
                        "--vram", "6G,48G", "--gpu", "RTX 4060", "--min-speed", "1",
                        "--limit", "40")
    assert result.returncode == 0, result.stderr
    ids = [rec["model_id"] for rec in result.json()["recommendations"]]
    assert any(i.startswith(("qwen3.5-", "qwen3-next-")) for i in ids), ids
