"""`picker --hosts ...`: the interactive picker plans each model across those machines too."""

from __future__ import annotations

import json
from pathlib import Path

from picker.rpc.hosts import read_hosts_flags
from picker.tui.app import PickerApp
from tests.cli_helpers import run_picker
from tests.test_rpc_plan import CPU_BOX, GPU_BOX, MAC
from tests.tui_helpers import GIB, detail_text, wait_for_rows, wait_until, what_if


def write_probes(folder: Path) -> str:
    for name, document in (("gpu-box", GPU_BOX), ("mac", MAC), ("cpu-box", CPU_BOX)):
        (folder / f"{name}.json").write_text(json.dumps(document))
    return f"{folder}/cpu-box.json,{folder}/gpu-box.json@10.0.0.2,{folder}/mac.json@10.0.0.3"


async def test_the_detail_pane_plans_the_row_across_the_machines(tmp_path: Path) -> None:
    hosts = write_probes(tmp_path)
    args = what_if(ram=120 * GIB, hosts_and_link=read_hosts_flags(hosts, "10gbit"))
    app = PickerApp(args)
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_for_rows(pilot, app)
        await wait_until(pilot, lambda: "These machines together" in detail_text(app),
                         what="the hosts section")
        text = detail_text(app)
        assert "cpu-box CPU" in text and "tokens/s (estimate)" in text
        assert "llama-server" in text and ("--tensor-split" in text or "does not fit" in text)
        assert "cpu-box + gpu-box + mac together" in app.query_one("#status").render().plain


def test_top_level_hosts_is_for_the_interactive_picker_only(tmp_path: Path) -> None:
    hosts = write_probes(tmp_path)
    for flags in (["--json", "--hosts", hosts], ["--hosts", hosts]):  # JSON; no terminal
        result = run_picker(*flags)
        assert result.returncode == 2 and "picker fit MODEL --hosts" in result.stderr
    missing = run_picker("--json", "--link", "10gbit")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
