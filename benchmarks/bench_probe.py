"""Whole-process time of `picker probe --json` (median of repeated runs), as a person waits for it.

Usage: python benchmarks/bench_probe.py [RUNS]
Also prints `python -c pass` as the floor no Python CLI can beat, and the ratio to it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    floor = median_seconds([sys.executable, "-c", "pass"], runs)
    probe = median_seconds([sys.executable, "-m", "picker", "probe", "--json"], runs)
    print(f"runs: {runs}")
    print(f"python -c pass           median {floor * 1000:7.1f} ms")
    print(f"picker probe --json      median {probe * 1000:7.1f} ms  ({probe / floor:.1f}x the floor)")


if __name__ == "__main__":
    main()
