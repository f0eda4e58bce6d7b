"""A Python that runs picker as if llama-cpp-python (or other packages) were not installed.

A `sitecustomize` on PYTHONPATH puts a finder first on sys.meta_path that refuses the
venv's own `llama_cpp` (or the modules PICKER_TEST_HIDDEN_MODULES names); a copy installed
into a folder named by PICKER_TEST_LLAMA_TARGET (what picker's installer is told to install
into) is still found, so a test can watch the install make it importable.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

_SITECUSTOMIZE = '''
import importlib.machinery
import os
import sys


class _HideVenvLlama:
    def find_spec(self, name, path=None, target=None):
        if name not in os.environ.get("PICKER_TEST_HIDDEN_MODULES", "llama_cpp").split(","):
            return None
        allowed = os.environ.get("PICKER_TEST_LLAMA_TARGET")
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and allowed and str(spec.origin or "").startswith(allowed):
            return spec
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, _HideVenvLlama())
'''


def without_llama_env(folder: Path, install_target: Path | None = None) -> dict[str, str]:
    """Environment variables for a child picker that cannot import the venv's llama_cpp."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    paths = [str(folder)]
    env = {"PYTHONPATH": os.pathsep.join(paths)}
    if install_target is not None:
        env["PYTHONPATH"] = os.pathsep.join([*paths, str(install_target)])
        env["PICKER_TEST_LLAMA_TARGET"] = str(install_target)
    return env


def without_modules_env(folder: Path, modules: tuple[str, ...]) -> dict[str, str]:
    """Environment variables for a child picker that cannot import `modules` (top-level names)."""
    return {**without_llama_env(folder), "PICKER_TEST_HIDDEN_MODULES": ",".join(modules)}


def stand_in_wheel(folder: Path, version: str) -> Path:
    """A tiny wheel named llama_cpp_python whose llama_cpp module says it is a stand-in."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"llama_cpp_python-{version}-py3-none-any.whl"
    dist_info = f"llama_cpp_python-{version}.dist-info"
    with zipfile.ZipFile(folder / name, "w") as wheel:
        wheel.writestr("llama_cpp/__init__.py", "STAND_IN = True\n")
        wheel.writestr(f"{dist_info}/METADATA",
                       f"Metadata-Version: 2.1\nName: llama_cpp_python\nVersion: {version}\n")
        wheel.writestr(f"{dist_info}/WHEEL",
                       "Wheel-Version: 1.0\nGenerator: picker-tests\nRoot-Is-Purelib: true\n"
                       "Tag: py3-none-any\n")
        wheel.writestr(f"{dist_info}/RECORD", "")
    return folder / name
