"""Time to load and validate the whole shipped catalog (median of repeated loads).

Usage: python benchmarks/bench_catalog.py [RUNS]
Prints the cold figure (TOML parsed and validated every time, as on the very first
run after an install or a catalog edit) and the warm one (the validated copy in the
cache dir read back, as on every later run); the warm one is what `picker --json` pays.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from picker.catalog import load_catalog_from, shipped_data_dir


def median_ms(cache_dir: Path | None, runs: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds (CPU time is steadier on a busy machine)."""
    wall, cpu = [], []
    count = 0
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        catalog = load_catalog_from(shipped_data_dir(), cache_dir=cache_dir)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        count = len(catalog.models)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000, count


def process_ms(code: str, runs: int, env: dict[str, str]) -> float:
    """Median wall time of a fresh interpreter running `code` (imports included)."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    cold, cold_cpu, count = median_ms(None, runs)
    with tempfile.TemporaryDirectory() as cache:
        load_catalog_from(shipped_data_dir(), cache_dir=Path(cache))  # fill the cache
        warm, warm_cpu, _ = median_ms(Path(cache), runs)
        env = {**os.environ, "PICKER_HOME": cache}
        floor = process_ms("pass", runs, env)
        whole = process_ms("from picker.catalog import load_catalog; load_catalog()", runs, env)
    print(f"runs: {runs}, models: {count}")
    print(f"parse + validate (cold)               median {cold:6.1f} ms wall {cold_cpu:6.1f} ms CPU")
    print(f"validated copy read back (warm)       median {warm:6.1f} ms wall {warm_cpu:6.1f} ms CPU"
          "  (budget 20 ms)")
    print(f"fresh process: import + load   median {whole - floor:6.1f} ms "
          f"above `python -c pass` ({floor:.1f} ms)")


if __name__ == "__main__":
    main()
