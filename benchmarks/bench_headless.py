"""Whole-process latency of `picker --json` (the headless recommendations), median of N runs.

The targets: a median of at most 150 ms on a 2-core machine (the first wave's), and issue 13's
at most 0.4x the best-known competitor's `recommend --json`, which takes 231 ms there: 92 ms.
Runs the `picker` console script of a wheel installed in a throwaway environment (what `pip
install .` gives a person; this checkout's editable install is timed too, for reference),
interleaving the commands round by round so a busy moment hits them all alike, and prints each
one's median and fastest wall time and its median CPU time (on a shared machine the wall time
includes waiting for a core). `picker --json` is measured with an empty picker home and with a
history of smoke tests (the state after a person has smoke-tested a few models, when the
ranking uses measured speeds). `--baseline DIR` also runs `picker --json` from another
checkout (e.g. a `git worktree` of an older commit) and prints the ratio; `--instructions`
counts instructions with valgrind, a figure that a busy machine does not change (runs sharing
a picker home read the same measured CPU bandwidth, which decides how many models are
planned). Python may write bytecode (to a temporary folder), as an installed package has it.

    .venv/bin/python benchmarks/bench_headless.py [--runs N] [--baseline DIR] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _picker() -> list[str]:
    script = Path(sys.executable).with_name("picker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "picker"]


def _write_history(home: str, env: dict[str, str]) -> None:
    """Smoke-test records for the top recommendations of this machine, as `picker smoke` writes them."""
    import json

    from picker.hardware.probe import probe_hardware
    from picker.history import History, ModelFile, machine_fingerprint

    document = json.loads(subprocess.run([*_picker(), "--json"], env=env, capture_output=True,
                                         check=True).stdout)
    machine = machine_fingerprint(probe_hardware())
    history = History(Path(home) / "data" / "history.sqlite3")
    for row in document["recommendations"][:5]:
        model = ModelFile(name=row["file"], size_bytes=row["download_bytes"], hub_repo=row["repo"],
                          hub_filename=row["file"], hub_revision="main")
        for rate in (20.0, 22.0, 21.0):
            history.record_run(kind="smoke", machine=machine, model=model, settings={}, passed=True,
                               reason=None, measurements={"generation_tokens_per_second": rate})


def _instructions(command: list[str], env: dict[str, str], cwd: str | None) -> int:
    """Instructions the whole process executes, counted by valgrind's callgrind: a figure a
    busy machine does not move, for comparing two versions."""
    import re

    completed = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                *command], env=env, cwd=cwd, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no instruction count: {completed.stderr[-300:]}")
    return int(found.group(1))


ROOT = Path(__file__).resolve().parents[1]


def _install_like_a_user(folder: Path) -> tuple[str, str]:
    """(python, picker) of a virtual environment holding picker as `pip install .` leaves it: a
    wheel, with its console script. This checkout's own environment has it installed editable,
    whose import hook costs every start of Python (~13 M instructions more than a wheel). The
    dependencies are this environment's, reached through a .pth line, so nothing is downloaded."""
    import sysconfig

    venv, wheels = folder / "venv", folder / "wheels"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "picker_bench_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    *map(str, wheels.glob("picker-*.whl"))], check=True, capture_output=True)
    return python, str(venv / "bin" / "picker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare `picker --json` with")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with valgrind (steady on a busy machine)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty_home, tempfile.TemporaryDirectory() as used_home, \
            tempfile.TemporaryDirectory() as install_folder:
        python, installed = _install_like_a_user(Path(install_folder))
        # Bytecode as an installed package has it (pip compiles on install): allowed, and
        # kept out of the source tree.
        base = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPYCACHEPREFIX"] = os.path.join(empty_home, "pycache")
        empty, used = {**base, "PICKER_HOME": empty_home}, {**base, "PICKER_HOME": used_home}
        # One CPU bandwidth probe for every run (it decides how many models are planned).
        os.environ["PICKER_HOME"] = empty_home
        from picker.paths import picker_paths
        from picker.speed.cpu_bandwidth import cpu_bandwidth

        cpu_bandwidth()
        measured = next(picker_paths().cache_dir.glob("cpu_bandwidth*"))
        Path(used_home, "cache").mkdir(parents=True, exist_ok=True)
        Path(used_home, "cache", measured.name).write_bytes(measured.read_bytes())
        os.environ["PICKER_HOME"] = used_home
        _write_history(used_home, used)
        commands: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [python, "-c", "pass"], empty),
            ("picker probe --json", [installed, "probe", "--json"], empty),
            ("picker --json", [installed, "--json"], empty),
            ("picker --json (history)", [installed, "--json"], used),
            ("picker recommend --json", [installed, "recommend", "--json"], empty),
            ("editable: picker --json", [*_picker(), "--json"], empty),
        ]
        if options.baseline:
            # What a console script does (an older checkout may lack picker.cli.entry).
            script = ("import sys; from picker import cli; "
                      "sys.exit(getattr(cli, 'entry', cli.main)())")
            commands.append(("baseline: picker --json", [sys.executable, "-c", script, "--json"],
                             {**empty, "PYTHONPATH": str(options.baseline.resolve())}))
        # `-c` puts the working directory first on sys.path: run from the baseline checkout
        # so that its picker, not this one, is imported.
        cwd = {label: str(options.baseline.resolve()) if options.baseline and label.startswith("baseline")
               else None for label, _, _ in commands}
        for label, command, env in commands:  # warm-up: bytecode, validated catalog copy, bandwidth probe
            subprocess.run(command, env=env, cwd=cwd[label], capture_output=True, check=True)
        walls: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        cpus: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for _ in range(options.runs):
            for label, command, env in commands:
                cpu_before = _children_cpu_seconds()
                start = time.perf_counter()
                subprocess.run(command, env=env, cwd=cwd[label], capture_output=True, check=True)
                walls[label].append(time.perf_counter() - start)
                cpus[label].append(_children_cpu_seconds() - cpu_before)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {options.runs} runs each")
        for label, _, _ in commands:
            print(f"{label:<26} median {statistics.median(walls[label]) * 1000:6.0f} ms  "
                  f"(fastest {min(walls[label]) * 1000:4.0f} ms, "
                  f"CPU {statistics.median(cpus[label]) * 1000:4.0f} ms)")
        if options.baseline:
            ratio = statistics.median(walls["picker --json"]) / statistics.median(
                walls["baseline: picker --json"])
            print(f"picker --json / baseline: {ratio:.2f} (median wall time)")
        if options.instructions:
            counts = {label: _instructions(command, env, cwd[label]) for label, command, env in commands
                      if label in ("python -c pass", "picker --json", "editable: picker --json",
                                   "baseline: picker --json")}
            for label, count in counts.items():
                print(f"{label:<26} {count / 1e6:8.1f} M instructions (callgrind)")
            if "baseline: picker --json" in counts:
                ratio = counts["picker --json"] / counts["baseline: picker --json"]
                print(f"picker --json / baseline: {ratio:.2f} (instructions)")
        print("targets: picker --json median <= 150 ms (first wave), <= 92 ms (issue 13: 0.4 x "
              "the best-known competitor's 231 ms)")


if __name__ == "__main__":
    main()
