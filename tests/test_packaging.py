"""A plain (non-editable) install carries every module and the catalog data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    (built,) = out.glob("picker-*.whl")
    return built


def test_wheel_holds_every_module_and_the_catalog(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(path.relative_to(ROOT)) for path in (ROOT / "picker").rglob("*.py")}
    missing = sorted(source for source in sources if source not in names)
    assert missing == [], f"not in the wheel (does each package have an __init__.py?): {missing}"
    catalog_files = {
        "picker/catalog_data/" + str(path.relative_to(ROOT / "catalog"))
        for path in (ROOT / "catalog").rglob("*")
        if path.is_file() and path.suffix in (".toml", ".json", ".md", ".py")
    }
    assert catalog_files, "catalog/ is empty"
    assert sorted(catalog_files - names) == []


def test_installed_wheel_finds_catalog_outside_the_source_tree(wheel: Path,
                                                               tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    script = (
        "import importlib.resources, picker\n"
        "files = importlib.resources.files('picker.catalog_data')\n"
        "print(picker.__file__)\n"
        "print(sorted(p.name for p in files.iterdir() if p.is_file()))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)}, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    module_path, listing = completed.stdout.splitlines()
    assert module_path.startswith(str(target))
    assert "__init__.py" in listing
