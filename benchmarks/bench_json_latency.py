"""`picker --json` from two or more checkouts, interleaved: median wall and CPU time, and
optionally instructions (callgrind), to hold a change to "within 5 % of before".

Each checkout runs what the console script runs (`picker.cli.main`) with its own directory
first on sys.path and one shared, warmed PICKER_HOME, round by round so that a busy moment
on a shared machine hits every checkout alike. A checkout is a directory or a commit of this
repository (exported with `git archive` to a temporary folder, with its own catalog).

    .venv/bin/python benchmarks/bench_json_latency.py BEFORE AFTER [--runs N] [--instructions]
        [--catalog FOLDER]
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

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "import sys; from picker import cli; sys.exit(getattr(cli, 'entry', cli.main)())"


def _checkout(spec: str, into: Path, catalog: Path | None) -> Path:
    """A directory as given, or a commit exported into `into` (with `catalog` as its catalog
    when given, so that two commits are timed on the same data)."""
    if Path(spec).is_dir():
        return Path(spec).resolve()
    folder = into / spec.replace("/", "_")
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", spec], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    # Its own catalog: picker.catalog_data would otherwise resolve, through this checkout's
    # editable install, to this checkout's catalog/ folder.
    (folder / "picker" / "catalog_data").symlink_to(catalog or folder / "catalog")
    return folder


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(folder: Path, env: dict[str, str]) -> tuple[float, float]:
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", SCRIPT, "--json"], cwd=folder, env=env,
                   capture_output=True, check=True)
    return time.perf_counter() - start, _children_cpu_seconds() - cpu_before


def _instructions(folder: Path, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as out:
        completed = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.out",
             sys.executable, "-c", SCRIPT, "--json"],
            cwd=folder, env=env, capture_output=True, text=True, check=True)
        for line in completed.stderr.splitlines():
            if "Collected :" in line:
                return int(line.split(":")[-1].strip().replace(",", ""))
    raise RuntimeError("callgrind gave no instruction count")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", help="directories or commits; the first is the base")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--catalog", type=Path, help="one catalog folder for every exported commit")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as exports, tempfile.TemporaryDirectory() as home:
        catalog = options.catalog.resolve() if options.catalog else None
        folders = [_checkout(spec, Path(exports), catalog) for spec in options.checkouts]
        env = {**os.environ, "PICKER_HOME": home, "PYTHONDONTWRITEBYTECODE": "",
               "PYTHONPYCACHEPREFIX": os.path.join(home, "pycache")}
        env.pop("PYTHONPATH", None)
        for folder in folders:  # warm-up: bytecode, the catalog's cached copy, the bandwidth probe
            _run(folder, env)
        walls: list[list[float]] = [[] for _ in folders]
        cpus: list[list[float]] = [[] for _ in folders]
        for _ in range(options.runs):
            for index, folder in enumerate(folders):
                wall, cpu = _run(folder, env)
                walls[index].append(wall)
                cpus[index].append(cpu)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
              f"{options.runs} runs each, interleaved")
        base_wall, base_cpu = statistics.median(walls[0]), statistics.median(cpus[0])
        for spec, wall_times, cpu_times in zip(options.checkouts, walls, cpus, strict=True):
            wall, cpu = statistics.median(wall_times), statistics.median(cpu_times)
            print(f"{spec:<14} median {wall * 1000:6.0f} ms (fastest {min(wall_times) * 1000:4.0f}),"
                  f" CPU {cpu * 1000:4.0f} ms; x{wall / base_wall:.3f} wall, x{cpu / base_cpu:.3f} CPU")
        if options.instructions:
            counts = [_instructions(folder, env) for folder in folders]
            for spec, count in zip(options.checkouts, counts, strict=True):
                print(f"{spec:<14} {count / 1e6:8.1f} M instructions, x{count / counts[0]:.3f}")


if __name__ == "__main__":
    main()
