"""The layer contracts in pyproject.toml ([tool.importlinter]): faces -> commands -> core ->
infrastructure, and no argparse or Textual below the commands, checked by import-linter's
`lint-imports` with the rest of the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the picker package in `folder`, with that folder's pyproject.toml."""
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--no-cache"], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False)


def test_no_import_runs_back_up_the_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken" in result.stdout
    assert "faces -> commands -> core -> infrastructure KEPT" in result.stdout
    assert "no argparse (typed requests), no Textual KEPT" in result.stdout


def test_an_import_up_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    """The contract can fail: a copy of picker whose hardware probe imports a command."""
    shutil.copytree(ROOT / "picker", tmp_path / "picker",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    model = tmp_path / "picker" / "hardware" / "model.py"
    model.write_text(model.read_text() + "\nfrom picker.commands import common  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "picker.hardware is not allowed to import picker.commands" in result.stdout
    assert "picker.hardware.model -> picker.commands.common" in result.stdout
