"""The core must import and run without Textual: only picker.tui may load it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import picker


def core_modules() -> list[str]:
    names = [
        module.name
        for module in pkgutil.walk_packages(picker.__path__, prefix="picker.")
        if not module.name.startswith("picker.tui")
    ]
    return sorted(names)


def test_core_modules_never_load_textual() -> None:
    modules = core_modules()
    assert "picker.hardware.probe" in modules and "picker.cli" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if name.endswith('__main__'):\n"
        "        continue\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "", f"textual loaded by the core: {completed.stdout}"


def test_a_probe_runs_without_textual_or_the_hub() -> None:
    script = (
        "import sys\n"
        "from picker.cli import main\n"
        "main(['probe', '--json'])\n"
        "heavy = [m for m in ('textual', 'huggingface_hub', 'llama_cpp') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY:' + ','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip().endswith("HEAVY:")
