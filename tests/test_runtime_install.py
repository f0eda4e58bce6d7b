"""llama-cpp-python installed when first needed: README, build flags, the pip child, the offer."""

from __future__ import annotations

import os
import re
import stat
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.runtime.install import (
    LLAMA_CPP_PYTHON_VERSION,
    SERVER_REQUIREMENT,
    BuildChoice,
    InstallProgress,
    build_choice,
    by_hand_command,
    run_install,
    toolchain_found,
)
from tests.cli_helpers import run_picker
from tests.pty_session import PtySession
from tests.without_llama import stand_in_wheel, without_llama_env

pytest_plugins = ["tests.runtime_models"]

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"^    (python3 -m venv .*)$", readme, flags=re.MULTILINE)


def test_the_readmes_first_command_installs_picker_without_compiling_llama_cpp() -> None:
    install = readme_commands()[0]
    assert "pip install ." in install and "[" not in install, install  # no extra: no llama.cpp
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any("llama" in requirement for requirement in project["dependencies"])


def test_the_extras_pin_the_version_picker_installs() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pinned = re.compile(rf"llama-cpp-python(\[[a-z,]+\])?=={re.escape(LLAMA_CPP_PYTHON_VERSION)}")
    for extra in ("llama", "serve", "test"):  # serve and test add the server extra's packages
        assert any(pinned.fullmatch(requirement) for requirement in extras[extra]), extra
    # what `picker serve` installs when llama-cpp-python is missing is the serve extra's pin
    assert SERVER_REQUIREMENT in extras["serve"]


def snapshot_with(*gpus: GpuInfo, overridden: tuple[str, ...] = ()) -> HardwareSnapshot:
    return HardwareSnapshot(CpuInfo("cpu", "x86_64", 2, 2, ()), MemoryInfo(16 << 30, 8 << 30, 0, 0),
                            None, gpus, "Linux", overridden=overridden)


def gpu(vendor: str, name: str) -> GpuInfo:
    return GpuInfo(0, vendor, name, "unified" if vendor == "apple" else "dedicated",  # type: ignore[arg-type]
                   24 << 30, 20 << 30)


def test_the_build_follows_the_probed_gpu() -> None:
    tools: set[str] = set()  # the compilers this "machine" has
    def choose(*gpus: GpuInfo, overridden: tuple[str, ...] = ()) -> BuildChoice:
        return build_choice(snapshot_with(*gpus, overridden=overridden), tools.__contains__)

    assert choose().cmake_args == ""
    cuda = choose(gpu("nvidia", "NVIDIA GeForce RTX 4090"))
    assert (cuda.backend, cuda.cmake_args) == ("CUDA", "-DGGML_CUDA=on")
    assert "RTX 4090" in cuda.reason and "nvcc" in cuda.needs  # no CUDA toolkit yet
    assert choose(gpu("apple", "Apple M2 Max")).cmake_args == "-DGGML_METAL=on"
    assert choose(gpu("intel", "Arc A770")).cmake_args == "-DGGML_VULKAN=on"
    no_rocm = choose(gpu("amd", "Radeon RX 7900 XTX"))
    assert no_rocm.cmake_args == "-DGGML_VULKAN=on" and "hipcc" in no_rocm.reason
    tools.update({"nvcc", "hipcc"})
    assert choose(gpu("nvidia", "RTX 4090")).needs == ""
    assert choose(gpu("amd", "Radeon RX 7900 XTX")).cmake_args == "-DGGML_HIP=on"
    # A what-if GPU is not this machine's: the build is for the hardware that is here.
    assert choose(gpu("nvidia", "RTX 3090"), overridden=("gpus",)).backend == "CPU"


def test_toolchains_are_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not toolchain_found("glslc")
    tool = tmp_path / "glslc"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    assert toolchain_found("glslc")


def test_by_hand_command_sets_cmake_args_and_pins_the_version() -> None:
    line = by_hand_command(BuildChoice("CUDA", "-DGGML_CUDA=on", "GPU0"), "/v/bin/python")
    assert line == f'CMAKE_ARGS="-DGGML_CUDA=on" /v/bin/python -m pip install ' \
                   f'llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}'
    assert by_hand_command(BuildChoice("CPU", "", "none"), "py").startswith("py -m pip install")


# A stand-in for pip's output: ninja's "[step/steps]" lines, then an exit code.
FAKE_BUILD = (
    "import os, sys, time\n"
    "print('CMAKE_ARGS=' + os.environ.get('CMAKE_ARGS', ''), flush=True)\n"
    "for step in range(1, 4):\n"
    "    print(f'[{step}/3] Building CXX object llama.cpp', flush=True); time.sleep(0.05)\n"
    "if len(sys.argv) > 1 and sys.argv[1] == 'fail':\n"
    "    print('error: command gcc failed', flush=True); sys.exit(1)\n"
    "if len(sys.argv) > 1 and sys.argv[1] == 'hang':\n"
    "    time.sleep(60)\n"
)


def test_run_install_follows_the_build_and_logs_everything(tmp_path: Path) -> None:
    seen: list[InstallProgress] = []
    log = tmp_path / "logs" / "install.log"
    result = run_install(BuildChoice("CUDA", "-DGGML_CUDA=on", "GPU0"), log, seen.append,
                         argv=[sys.executable, "-c", FAKE_BUILD])
    assert result.succeeded and result.exit_code == 0
    text = log.read_text()
    assert "CMAKE_ARGS=-DGGML_CUDA=on" in text and "[3/3] Building CXX object" in text
    assert (seen[-1].step, seen[-1].steps) == (3, 3)
    assert "step 3 of 3" in seen[-1].summary()

    failed = run_install(BuildChoice("CPU", "", "none"), log, None,
                         argv=[sys.executable, "-c", FAKE_BUILD, "fail"])
    assert not failed.succeeded and failed.exit_code == 1
    assert failed.reason() == "error: command gcc failed"


def test_a_cancelled_install_stops_its_child(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = run_install(BuildChoice("CPU", "", "none"), tmp_path / "install.log", None, cancel,
                         argv=[sys.executable, "-c", FAKE_BUILD, "hang"])
    assert not result.succeeded and result.exit_code is None
    assert time.monotonic() - started < 15


def test_run_install_with_real_pip_makes_the_module_importable(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    stand_in_wheel(wheels, LLAMA_CPP_PYTHON_VERSION)
    target = tmp_path / "site"
    argv = [sys.executable, "-m", "pip", "install", "--verbose", "--no-index", "--find-links",
            str(wheels), "--target", str(target), f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"]
    result = run_install(BuildChoice("CPU", "", "none"), tmp_path / "install.log", None, argv=argv)
    assert result.succeeded, result.tail
    assert (target / "llama_cpp" / "__init__.py").is_file()
    assert "Successfully installed llama-cpp-python" in (tmp_path / "install.log").read_text()


def test_without_a_terminal_smoke_says_how_to_install_in_one_line(
    tmp_path: Path, tiny_path: Path
) -> None:
    result = run_picker("smoke", str(tiny_path), env=without_llama_env(tmp_path / "hide"))
    assert result.returncode == 6, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "compiles llama.cpp: about 10-15 minutes on 2 cores" in lines[0]
    assert f"-m pip install llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}" in lines[0]
    assert not (tmp_path / "picker-home" / "data" / "history.sqlite3").exists()


def test_without_a_terminal_serve_names_the_install_with_the_server_extra(
    tmp_path: Path, tiny_path: Path
) -> None:
    # One install for `picker serve`: the compile and the server's packages together.
    result = run_picker("serve", str(tiny_path), "--port", "0",
                        env=without_llama_env(tmp_path / "hide"))
    assert result.returncode == 6, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"-m pip install 'llama-cpp-python[server]=={LLAMA_CPP_PYTHON_VERSION}'" in lines[0]


def test_with_a_compatible_runtime_nothing_is_asked(tiny_path: Path) -> None:
    result = run_picker("smoke", str(tiny_path), "--json", timeout=300)
    assert "Install it now?" not in result.stderr and "llama_cpp_missing" not in result.stdout


def pty_env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "TERM": "dumb", **extra}


def test_at_a_terminal_smoke_offers_the_install_and_runs_it(tmp_path: Path, tiny_path: Path) -> None:
    wheels = tmp_path / "wheels"
    stand_in_wheel(wheels, LLAMA_CPP_PYTHON_VERSION)
    target = tmp_path / "site"
    env = pty_env(tmp_path, {**without_llama_env(tmp_path / "hide", target),
                             "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                             "PIP_TARGET": str(target)})
    declined = PtySession([sys.executable, "-m", "picker", "smoke", str(tiny_path)], env)
    try:
        declined.expect(r"compiles llama\.cpp: about 10-15 minutes on 2 cores")
        declined.expect(r"Build: CPU build")
        declined.expect(r"By hand: .*-m pip install llama-cpp-python==")
        declined.expect(r"Install it now\? \[y/N\]")
        declined.send("n\n")
        assert declined.wait(30) == 6
    finally:
        declined.close()
    assert not target.exists()

    accepted = PtySession([sys.executable, "-m", "picker", "smoke", str(tiny_path)], env)
    try:
        accepted.expect(r"Install it now\? \[y/N\]")
        accepted.send("y\n")
        accepted.expect(r"the full output goes to .*llama-cpp-python-install\.log")
        accepted.expect(r"llama-cpp-python installed in \d+:\d\d")
        accepted.wait(120)
    finally:
        accepted.close()
    assert (target / "llama_cpp" / "__init__.py").is_file()
    log = tmp_path / "picker-home" / "cache" / "llama-cpp-python-install.log"
    assert "Successfully installed llama-cpp-python" in log.read_text()


class _HideLlama:
    """In this process: the venv's llama_cpp cannot be found, a copy under `allowed` can."""

    def __init__(self, allowed: Path) -> None:
        self.allowed = str(allowed)

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        import importlib.machinery

        if name != "llama_cpp":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [self.allowed])
        if spec is None:
            raise ModuleNotFoundError("No module named 'llama_cpp'", name=name)
        return spec


async def test_the_tui_offers_the_install_before_a_smoke_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from picker.tui.app import PickerApp
    from picker.tui.screens.confirm import ConfirmScreen
    from tests.tui_helpers import static_text, wait_for_rows, wait_until

    wheels, target = tmp_path / "wheels", tmp_path / "site"
    stand_in_wheel(wheels, LLAMA_CPP_PYTHON_VERSION)
    for name, value in {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                        "PIP_TARGET": str(target)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "meta_path", [_HideLlama(target), *sys.meta_path])
    for name in [name for name in sys.modules if name.split(".")[0] == "llama_cpp"]:
        monkeypatch.delitem(sys.modules, name)  # imported by an earlier test: find_spec sees it
    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        question = app.screen.question  # type: ignore[attr-defined]
        assert "compiles llama.cpp: about 10-15 minutes on 2 cores" in question
        assert "By hand: " in question and "Install it now?" in question
        await pilot.press("n")
        await wait_until(pilot, lambda: "Not installed. By hand:" in static_text(app, "#status"),
                         what="the by-hand line")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        await pilot.press("y")
        # Installed, then the smoke test it was for goes on (the row is not on disk here).
        await wait_until(pilot, lambda: "press d" in static_text(app, "#status"), timeout=120,
                         what="the smoke test after the install")
    assert (target / "llama_cpp" / "__init__.py").is_file()


def test_fit_exact_without_the_runtime_says_how_to_install_it(tmp_path: Path, tiny_path: Path) -> None:
    result = run_picker("fit", str(tiny_path), "--exact", env=without_llama_env(tmp_path / "hide"))
    assert result.returncode == 6, result.stderr
    assert "compiles llama.cpp" in result.stderr and "dry run failed" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
