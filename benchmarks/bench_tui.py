"""How fast the app answers a person: first screen, the ranked table, and a filter keystroke.

Usage: python benchmarks/bench_tui.py [RUNS]
Runs the real app headless (Textual's test driver) on this machine. Prints, as
medians over RUNS fresh processes: time from process start to the first screen
(widgets mounted and painted) and to the ranked table; then, on the full catalog
(a what-if machine big enough for every model, no speed floor), the time each
filter keystroke takes, median and worst, over a typed phrase.
Targets (issue 8): first screen < 1 s on a 2-core machine; keystroke < 16 ms median.
Run it as an installed package runs: with bytecode caching allowed (unset
PYTHONDONTWRITEBYTECODE), or every import is compiled from source each time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

CHILD = r'''
import time
started = time.perf_counter()
import asyncio, argparse, json
from picker.tui.app import PickerApp

async def main():
    app = PickerApp(argparse.Namespace())
    first = None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - started
        while app.document is None:
            await asyncio.sleep(0.01)
        await pilot.pause()
        ranked = time.perf_counter() - started
    print(json.dumps({"first_screen": first, "ranked": ranked}))

asyncio.run(main())
'''

KEYSTROKES = r'''
import asyncio, argparse, json, time
from picker.tui.app import PickerApp
from picker.tui.widgets.model_table import ModelTable

GIB = 1024 ** 3

async def main():
    app = PickerApp(argparse.Namespace(ram=1024 * GIB, vram=[192 * GIB] * 8))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_state = app.query_state.__class__(min_speed=0.0, overrides=app.query_state.overrides)
        app.recompute()
        while app.document is None or app.document["settings"]["min_tokens_per_second"] != 0.0:
            await asyncio.sleep(0.02)
        await pilot.pause()
        table = app.query_one(ModelTable)
        rows = len(table.rows_data)
        timings = []
        await pilot.press("slash")
        baseline = []  # keys that change nothing: the test driver's own cost per key
        for _ in range(10):
            started = time.perf_counter()
            await pilot.press("left")
            baseline.append(time.perf_counter() - started)
        for key in "qwen coder 7b" + "\b" * 13 + "llama 3":
            key = "backspace" if key == "\b" else ("space" if key == " " else key)
            started = time.perf_counter()
            await pilot.press(key)
            timings.append(time.perf_counter() - started)
    print(json.dumps({"rows": rows, "timings": timings, "baseline": baseline}))

asyncio.run(main())
'''


def run_child(code: str) -> dict[str, object]:
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, timeout=300)
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    first, ranked = [], []
    for _ in range(runs):
        result = run_child(CHILD)
        first.append(float(result["first_screen"]))  # type: ignore[arg-type]
        ranked.append(float(result["ranked"]))  # type: ignore[arg-type]
    print(f"runs: {runs}")
    print(f"first screen (process start -> painted)   median {statistics.median(first) * 1000:7.0f} ms"
          "   target < 1000 ms")
    print(f"ranked table (process start -> rows shown) median {statistics.median(ranked) * 1000:7.0f} ms")
    started = time.perf_counter()
    keys = run_child(KEYSTROKES)
    timings = [float(t) for t in keys["timings"]]  # type: ignore[union-attr]
    baseline = statistics.median(float(t) for t in keys["baseline"])  # type: ignore[union-attr]
    typing = statistics.median(timings)
    print(f"filter keystrokes on {keys['rows']} rows, {len(timings)} keys: median {typing * 1000:.1f} ms "
          f"end to end in the test driver, worst {max(timings) * 1000:.1f} ms")
    print(f"  a key that changes nothing costs the driver {baseline * 1000:.1f} ms (median); "
          f"the filter's own cost: {(typing - baseline) * 1000:.1f} ms per key (target median < 16 ms)"
          f"  [{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
