"""`picker --json` and the TUI's ranked table with today's catalog and with a 5,000-entry one.

Issue 13's target: a synthetic 5,000-entry catalog stays under 2x today's times. The
synthetic catalog is the shipped one with its open models cloned round-robin (each clone
keeps every field of its original, with `-sN` added to its id and ` sN` to its name) until
there are 5,000 open models; it reaches picker the way a bigger catalog reaches a user: as
a bundle (`picker.catalog.update.make_bundle`'s format) kept by `picker catalog update FILE`
in a temporary PICKER_HOME. Today's catalog runs in a second temporary PICKER_HOME with
the same measured CPU bandwidth (it decides how many models are planned).

After one warm-up run of each (it builds the caches: bytecode, the validated catalog's
copy, the hardware probe), each round runs, interleaved so that a busy moment on a shared
machine hits both alike:
- `picker --json` as a whole process (this environment's console script): wall and CPU time;
- the TUI, measured by bench_tui.py's own child (its `run_child` and `CHILD`, in the given
  PICKER_HOME): from process start to the first frame with ranked rows (above 500 models the
  best 100 come first), and to every row that fits shown and settled, with the CPU time until
  then (the first screen's child process included).
Prints the medians, the 5,000-entry catalog's ratio to today's and the target (< 2x).
Opt-in: not part of the test run (it takes a few minutes on a 2-core machine).

    .venv/bin/python benchmarks/bench_catalog_scale.py [--runs N] [--models 5000]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from picker.catalog.loader import CLOSED_FILE, QUANT_TYPES_FILE, SOURCES_FILE, shipped_data_dir
from picker.catalog.tomlwrite import family_header, model_toml
from picker.catalog.update import BUNDLE_FORMAT, BUNDLE_VERSION, shipped_stamp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_tui  # its measuring code: run_child, CHILD

TARGET_RATIO = 2.0
_SPECIAL = {SOURCES_FILE, QUANT_TYPES_FILE, CLOSED_FILE}


def synthetic_bundle(model_count: int) -> tuple[dict[str, object], int]:
    """A catalog bundle whose family files hold `model_count` open models (the shipped ones and
    their clones, round-robin), and how many models the shipped catalog has."""
    folder = shipped_data_dir()
    assert isinstance(folder, Path), "the shipped catalog must be a plain folder"
    families: dict[str, dict[str, object]] = {}
    shipped: list[tuple[str, dict[str, object]]] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name in _SPECIAL:
            continue
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        families[path.name] = document
        shipped += [(path.name, model) for model in document["models"]]
    if model_count < len(shipped):
        raise SystemExit(f"--models must be at least the shipped catalog's {len(shipped)}")
    for index in range(model_count - len(shipped)):
        file_name, original = shipped[index % len(shipped)]
        suffix = index // len(shipped) + 1
        clone = copy.deepcopy(original)
        clone["id"] = f"{original['id']}-s{suffix}"
        clone["name"] = f"{original['name']} s{suffix}"
        models = families[file_name]["models"]
        assert isinstance(models, list)
        models.append(clone)
    files = {}
    for file_name, document in families.items():
        blocks = [family_header(str(document["family"]), str(document["title"]))]
        models = document["models"]
        assert isinstance(models, list)
        blocks += [model_toml(model) for model in models]
        files[file_name] = "\n".join(blocks)
    # Dated as the shipped data (an update older than it would not be used).
    created = shipped_stamp() or dt.date.today().isoformat()
    bundle: dict[str, object] = {"format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION,
                                 "created": created,
                                 "description": f"synthetic: {model_count} open models (benchmark)",
                                 "files": files}
    return bundle, len(shipped)


def _picker() -> list[str]:
    script = Path(sys.executable).with_name("picker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "picker"]


def _environment(home: str) -> dict[str, str]:
    """As an installed package runs: bytecode allowed (bench_tui's children do the same)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PICKER_HOME"] = home
    return environment


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_json(home: str) -> tuple[float, float, int]:
    """(wall s, CPU s, recommendations) of one `picker --json` process."""
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    completed = subprocess.run([*_picker(), "--json"], env=_environment(home), capture_output=True,
                               check=True)
    wall = time.perf_counter() - start
    rows = len(json.loads(completed.stdout)["recommendations"])
    return wall, _children_cpu_seconds() - cpu_before, rows


def time_tui(home: str) -> tuple[float, float, float]:
    """(process start -> every ranked row shown and settled, the CPU time until then, process
    start -> the first frame with ranked rows) of one TUI run. (Above 500 models the TUI
    shows the best 100 rows first, the rest after.)"""
    saved = os.environ.get("PICKER_HOME")
    os.environ["PICKER_HOME"] = home  # run_child passes this process's environment on
    try:
        started, result = bench_tui.run_child(bench_tui.CHILD)
    finally:
        if saved is None:
            os.environ.pop("PICKER_HOME", None)
        else:
            os.environ["PICKER_HOME"] = saved
    return (float(result["ranked"]) - started, float(result["ranked_cpu"]),  # type: ignore[arg-type]
            float(result["rows"]) - started)  # type: ignore[arg-type]


def catalog_size(home: str) -> int:
    completed = subprocess.run([*_picker(), "catalog", "stats", "--json"], env=_environment(home),
                               capture_output=True, check=True, text=True)
    return int(json.loads(completed.stdout)["stats"]["models"])


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--models", type=int, default=5000, help="open models in the synthetic catalog")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as today, tempfile.TemporaryDirectory() as scaled, \
            tempfile.TemporaryDirectory() as scratch:
        bundle, shipped_models = synthetic_bundle(options.models)
        bundle_path = Path(scratch, "synthetic-catalog.json")
        bundle_path.write_text(json.dumps(bundle), encoding="utf-8")
        update = subprocess.run([*_picker(), "catalog", "update", str(bundle_path)],
                                env=_environment(scaled), capture_output=True, text=True, check=False)
        if update.returncode != 0:
            raise SystemExit(f"picker catalog update refused the synthetic bundle: {update.stderr.strip()}")
        homes = {"today": today, "5,000": scaled}
        # Warm-up of today's home first, then its measured CPU bandwidth copied into the other.
        time_json(today)
        cache = Path(today, "cache")
        Path(scaled, "cache").mkdir(parents=True, exist_ok=True)
        for measured in cache.glob("cpu_bandwidth*"):
            shutil.copy(measured, Path(scaled, "cache", measured.name))
        sizes = {label: catalog_size(home) for label, home in homes.items()}
        warm_rows = {label: time_json(home)[2] for label, home in homes.items()}
        for home in homes.values():
            time_tui(home)
        walls: dict[str, list[float]] = {label: [] for label in homes}
        cpus: dict[str, list[float]] = {label: [] for label in homes}
        tui: dict[str, list[float]] = {label: [] for label in homes}
        tui_cpu: dict[str, list[float]] = {label: [] for label in homes}
        tui_rows: dict[str, list[float]] = {label: [] for label in homes}
        started = time.perf_counter()
        for _ in range(options.runs):
            for label, home in homes.items():
                wall, cpu, _rows = time_json(home)
                walls[label].append(wall)
                cpus[label].append(cpu)
            for label, home in homes.items():
                ranked, ranked_cpu, rows = time_tui(home)
                tui[label].append(ranked)
                tui_cpu[label].append(ranked_cpu)
                tui_rows[label].append(rows)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {options.runs} runs each "
              f"after one warm-up, interleaved [{time.perf_counter() - started:.0f} s]")
        print(f"catalog: today {shipped_models} open models (stats: {sizes['today']}); synthetic "
              f"{options.models} (stats: {sizes['5,000']}), bundle {bundle_path.stat().st_size / 1e6:.1f} MB "
              f"kept by `picker catalog update`")
        for label in homes:
            print(f"{label:>6} catalog: picker --json median {_ms(walls[label]):5.0f} ms "
                  f"(fastest {min(walls[label]) * 1000:4.0f}, CPU {_ms(cpus[label]):4.0f} ms, "
                  f"{warm_rows[label]} recommendations); TUI first ranked rows shown median "
                  f"{_ms(tui_rows[label]):5.0f} ms (fastest {min(tui_rows[label]) * 1000:4.0f}); every row "
                  f"shown and settled median {_ms(tui[label]):5.0f} ms "
                  f"(fastest {min(tui[label]) * 1000:4.0f}, CPU {_ms(tui_cpu[label]):4.0f} ms)")
        ratios = {
            "picker --json wall": _ms(walls["5,000"]) / _ms(walls["today"]),
            "picker --json CPU": _ms(cpus["5,000"]) / _ms(cpus["today"]),
            "TUI first rows shown": _ms(tui_rows["5,000"]) / _ms(tui_rows["today"]),
            "TUI every row settled": _ms(tui["5,000"]) / _ms(tui["today"]),
            "TUI every row, CPU": _ms(tui_cpu["5,000"]) / _ms(tui_cpu["today"]),
        }
        for label, ratio in ratios.items():
            verdict = "meets" if ratio < TARGET_RATIO else "MISSES"
            print(f"5,000 / today, {label:<22} x{ratio:.2f}  ({verdict} the target < {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
