"""The core must import and run without Textual: only picker.tui may load it."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

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


def test_the_headless_path_loads_nothing_heavy_and_has_eager_annotations(tmp_path: Path) -> None:
    # With `from __future__ import annotations` a NamedTuple's field types are strings that
    # typing compiles one by one at import (~5 % of `picker --json`, several hundred fields).
    script = (
        "import contextlib, io, sys\n"
        "from picker.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--json'])\n"
        "print('\\n'.join(m.__file__ for n, m in sys.modules.items()\n"
        "                if n.startswith('picker') and getattr(m, '__file__', None)))\n"
        "heavy = ('textual', 'huggingface_hub', 'llama_cpp', 'psutil', 'sqlite3', 'dataclasses')\n"
        "sys.stderr.write('HEAVY:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False, env={**os.environ, "PICKER_HOME": str(tmp_path)})
    assert completed.returncode == 0, completed.stderr
    # Nor anything heavy the headless answer does not need (each costs 10-60 ms to load).
    assert completed.stderr.strip().endswith("HEAVY:"), completed.stderr
    files = completed.stdout.split()
    assert any(name.endswith("rank/engine.py") for name in files)
    lazy = [name for name in files
            if "NamedTuple)" in (text := Path(name).read_text())
            and "from __future__ import annotations" in text]
    assert lazy == [], f"drop `from __future__ import annotations` (quote forward references): {lazy}"


def test_the_headless_path_compiles_no_source_text(tmp_path: Path) -> None:
    # The first compile() of a process builds Python's AST node types: ~9.3 M instructions,
    # ~2.5 ms, ~3 % of `picker --json` (callgrind, 2026-12-06). A quoted annotation on a
    # NamedTuple or a TypeVar bound by name (a typing.ForwardRef) is enough to cause one.
    script = (
        "import builtins, contextlib, io, sys, traceback\n"
        "real_compile, callers = builtins.compile, []\n"
        "def counted(*args, **kwargs):\n"
        "    stack = traceback.format_stack()[:-1]\n"
        "    if not any('source_to_code' in frame for frame in stack):  # a module without bytecode\n"
        "        callers.append(''.join(stack))\n"
        "    return real_compile(*args, **kwargs)\n"
        "builtins.compile = counted\n"
        "from picker.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--json'])\n"
        "print('\\n'.join(callers))\n"
    )
    env = {**os.environ, "PICKER_HOME": str(tmp_path)}
    for _run in ("cold", "warm"):  # the second reads the caches the first made (tomllib compiles)
        completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                   timeout=120, check=False, env=env)
        assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "", f"compile() on picker --json's path:\n{completed.stdout}"
