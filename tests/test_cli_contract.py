"""The output contract, checked on the real CLI in a child process."""

from __future__ import annotations

import pytest

from picker.errors import ExitCode
from tests.cli_helpers import run_picker


def test_probe_json_is_one_document_with_schema_version() -> None:
    result = run_picker("probe", "--json")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["schema_version"] >= 1
    hardware = document["hardware"]
    assert hardware["memory"]["total_bytes"] > 0
    assert hardware["cpu"]["logical_cores"] >= 1
    assert hardware["cpu"]["sources"]["logical_cores"] == "os.cpu_count"  # Linux: no psutil
    assert hardware["memory"]["sources"]["total_bytes"] == "/proc/meminfo"
    assert "Traceback" not in result.stderr


def test_probe_on_this_machine_says_there_is_no_gpu() -> None:
    # The development and CI machines have no GPU and no NVIDIA driver.
    document = run_picker("probe", "--json").json()
    assert document["hardware"]["gpus"] == []
    assert any("no GPU found" in warning for warning in document["hardware"]["warnings"])
    assert any(warning.startswith("NVIDIA") for warning in document["hardware"]["warnings"])


def test_json_flag_works_before_and_after_the_command() -> None:
    assert run_picker("--json", "probe").json()["hardware"]
    assert run_picker("probe", "--json").json()["hardware"]


def test_human_output_is_text() -> None:
    result = run_picker("probe")
    assert result.returncode == 0
    assert result.stdout.startswith("CPU")
    assert "RAM" in result.stdout


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["probe", "--ram", "banana"], "--ram"),
        (["probe", "--vram", "24G,,8G"], "--vram"),
        (["probe", "--cpu-threads", "many"], "--cpu-threads"),
        (["probe", "--cpu-threads", "0"], "--cpu-threads"),
    ],
)
def test_bad_override_is_a_usage_error_naming_the_flag(args: list[str], flag: str) -> None:
    result = run_picker(*args)
    assert result.returncode == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert flag in lines[0]
    assert result.stdout == ""


def test_bad_override_with_json_also_prints_a_json_error() -> None:
    result = run_picker("probe", "--ram", "banana", "--json")
    assert result.returncode == ExitCode.USAGE
    error = result.json()["error"]
    assert error["code"] == "usage"
    assert error["exit_code"] == ExitCode.USAGE
    assert "--ram" in error["message"]
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error() -> None:
    result = run_picker("frobnicate", "--json")
    assert result.returncode == ExitCode.USAGE
    assert result.json()["error"]["code"] == "usage"


def test_gpu_name_without_vram_on_a_machine_without_gpu_is_refused() -> None:
    result = run_picker("probe", "--gpu", "RTX 4090")
    assert result.returncode == ExitCode.USAGE
    assert "--vram" in result.stderr


def test_what_if_values_are_marked() -> None:
    document = run_picker("probe", "--json", "--ram", "64G", "--vram", "24G,24G",
                          "--gpu", "RTX 3090").json()
    hardware = document["hardware"]
    assert hardware["memory"]["total_bytes"] == 64 * 1024**3
    assert [gpu["free_bytes"] for gpu in hardware["gpus"]] == [24 * 1024**3] * 2
    assert [gpu["index"] for gpu in hardware["gpus"]] == [0, 1]
    assert {gpu["name"] for gpu in hardware["gpus"]} == {"RTX 3090"}
    assert "memory.total_bytes" in hardware["overridden"]
    assert "gpus" in hardware["overridden"]


def test_python_dash_m_and_version() -> None:
    result = run_picker("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("picker ")


def test_top_level_json_is_the_headless_document() -> None:
    result = run_picker("--json")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["schema_version"] >= 1
    assert document["hardware"]["memory"]["total_bytes"] > 0
    assert document["settings"]["use_case"] == "general"
    recommendations = document["recommendations"]
    assert isinstance(recommendations, list)
    # picker --json ranks as `picker recommend --json` (which shows only the top few by default).
    # Both on one what-if machine: two live probes on a busy host can measure a different
    # bandwidth or free memory, which may swap two models whose scores differ by a point.
    machine = ("--ram", "32G", "--memory-bandwidth", "60", "--cpu-threads", "8")
    ranked = [r["model_id"] for r in run_picker("--json", *machine).json()["recommendations"]]
    top = [r["model_id"]
           for r in run_picker("recommend", "--json", *machine).json()["recommendations"]]
    assert top and ranked[: len(top)] == top


def test_top_level_json_takes_the_what_if_flags() -> None:
    document = run_picker("--json", "--ram", "64G", "--vram", "24G").json()
    assert document["hardware"]["overridden"]
    assert any(r["placement"] == "gpu" for r in document["recommendations"])


def test_every_listed_command_has_its_module() -> None:
    import importlib

    from picker.cli import COMMANDS, build_parser, requested_command

    for name in COMMANDS:
        assert callable(importlib.import_module(f"picker.commands.{name}").add_parser)
    build_parser()  # every command's full parser together: no clashing names
    assert requested_command(["--ram", "16G", "--gpu", "probe", "fit", "x.gguf"]) == "fit"
    assert requested_command(["--json"]) is None
    assert requested_command(["frobnicate"]) is None


def test_a_bad_value_names_its_flag_once() -> None:
    result = run_picker("probe", "--ram", "banana")
    assert result.stderr.startswith("picker: error: --ram: cannot read 'banana'")
    assert result.stderr.count("--ram") == 1


def test_json_is_indented_for_a_terminal_and_compact_for_a_pipe() -> None:
    import io
    import json

    from picker.output import write_json

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    document = {"hardware": {"cpu": {"name": "x"}}, "recommendations": [1, 2]}
    for stream, lines in ((Terminal(), 12), (io.StringIO(), 1)):
        write_json(document, stream)
        text = stream.getvalue()
        assert json.loads(text) == {"schema_version": 1, **document}
        assert text.count("\n") == lines
    piped = run_picker("probe", "--json").stdout  # a pipe here
    assert piped.count("\n") == 1 and json.loads(piped)["hardware"]


@pytest.mark.parametrize("flags", [("--ram", "16"), ("--vram", "24,24"), ("--ram", "1K")])
def test_a_memory_size_without_a_unit_is_refused_not_planned_for(flags: tuple[str, str]) -> None:
    result = run_picker("--json", *flags)
    assert result.returncode == 2
    assert "did you mean" in result.stderr and result.stderr.count("\n") == 1
    assert result.json()["error"]["code"] == "usage"
    assert run_picker("--json", flags[0], "16G").returncode == 0


def test_every_top_level_option_with_a_value_is_skipped_when_finding_the_command() -> None:
    """`picker --memory-mts 5600 probe` must run probe: the command is found by skipping the
    values of the top-level options, from a list kept beside the parser."""
    from picker import cli

    parser = cli.build_parser("")
    taking_values = {
        option
        for action in parser._actions
        if action.nargs != 0 and action.option_strings
        for option in action.option_strings
        if option.startswith("--")
    }
    assert taking_values == set(cli._OPTIONS_WITH_VALUES)
