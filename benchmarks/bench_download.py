"""picker's download throughput vs a plain `hf_hub_download`, and the cost of resuming at 80%.

Both fetch the same file from the stand-in Hub (tests/hub_server.py), which runs in its
own process on loopback so it does not share this process's GIL. Runs alternate
between the two downloaders to spread out the noise of a shared machine; the figures
are medians of back-to-back ratios. picker's time includes its sha256 verification
(about 0.7 s of CPU per GiB, in a second thread); `hf_hub_download` checks only the
size. On loopback the server, the client and the hash all want a core: on a machine
with fewer than three idle cores the hash shows in the ratio; over a real network
(tens to hundreds of MB/s) it hides behind the transfer.

The resume case stops a real picker download at 80% (as Ctrl-C would: the `.part` and
its saved hash state stay), then times the run that finishes it, against a fresh
download of the whole file.

    .venv/bin/python benchmarks/bench_download.py [--size-mib 1024] [--runs 3]

Targets: throughput >= 90% of hf_hub_download; resume from 80% <= 1/4 of a fresh download.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPO = "bench/model-GGUF"
NAME = "model-Q4_K_M.gguf"


def serve(size_bytes: int, endpoints: Any, stop: Any) -> None:
    """The stand-in Hub in a child process, holding one random file of `size_bytes`."""
    from tests.hub_server import HubServer

    server = HubServer().start()
    server.add_repo(REPO, {NAME: os.urandom(size_bytes)})
    for tree in server.repos[REPO].commits.values():
        for hub_file in tree.values():
            _ = hub_file.sha256  # computed once here, not during the first timed request
    endpoints.put(server.endpoint)
    stop.wait()
    server.stop()


def time_hf_hub_download(endpoint: str, work: Path) -> float:
    from huggingface_hub import hf_hub_download

    cache = Path(tempfile.mkdtemp(dir=work))
    os.sync()  # earlier runs' writes are on disk, not competing with this one
    started = time.perf_counter()
    hf_hub_download(REPO, NAME, cache_dir=cache, endpoint=endpoint)
    seconds = time.perf_counter() - started
    shutil.rmtree(cache)
    return seconds


def time_picker(endpoint: str, work: Path, keep: bool = False) -> tuple[float, Path]:
    from picker.hub import download_target

    cache = Path(tempfile.mkdtemp(dir=work))
    os.sync()
    started = time.perf_counter()
    download_target(f"hf://{REPO}/{NAME}", endpoint=endpoint, cache_dir=cache)
    seconds = time.perf_counter() - started
    if not keep:
        shutil.rmtree(cache)
    return seconds, cache


def time_resume(endpoint: str, work: Path, stop_fraction: float, keep_state: bool) -> tuple[float, int]:
    """Stop a picker download at `stop_fraction` as Ctrl-C would, then time the run that finishes it."""
    from picker.errors import InterruptedByUserError
    from picker.hub import ProgressEvent, download_target

    cache = Path(tempfile.mkdtemp(dir=work))

    def stop_at(event: ProgressEvent) -> None:
        if event.kind == "progress" and event.done_bytes >= stop_fraction * event.total_bytes:
            raise KeyboardInterrupt

    try:
        download_target(f"hf://{REPO}/{NAME}", endpoint=endpoint, cache_dir=cache, progress=stop_at)
        raise AssertionError("the download was not stopped")
    except InterruptedByUserError:
        pass
    if not keep_state:
        for state in cache.rglob("*.part.state"):
            state.unlink()
    os.sync()  # the stopped download's bytes were written long ago, as in real life
    started = time.perf_counter()
    result = download_target(f"hf://{REPO}/{NAME}", endpoint=endpoint, cache_dir=cache)
    seconds = time.perf_counter() - started
    shutil.rmtree(cache)
    return seconds, result.files[0].resumed_from_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024

    context = multiprocessing.get_context("spawn")
    endpoints = context.Queue()
    stop = context.Event()
    child = context.Process(target=serve, args=(size, endpoints, stop), daemon=True)
    child.start()
    endpoint = endpoints.get(timeout=120)
    os.environ.setdefault("PICKER_HOME", tempfile.mkdtemp(prefix="picker-bench-home-"))
    from picker.hub.hashing import state_saving_available

    work = Path(tempfile.mkdtemp(prefix="picker-bench-download-"))
    try:
        time_picker(endpoint, work)  # warm-up: imports, connections, page cache
        time_hf_hub_download(endpoint, work)
        hf_times: list[float] = []
        picker_times: list[float] = []
        resume_times: list[float] = []
        for round_index in range(args.runs):
            if round_index % 2:  # alternate who goes first: neither always gets the quieter moment
                picker_times.append(time_picker(endpoint, work)[0])
                hf_times.append(time_hf_hub_download(endpoint, work))
            else:
                hf_times.append(time_hf_hub_download(endpoint, work))
                picker_times.append(time_picker(endpoint, work)[0])
            seconds, resumed_from = time_resume(endpoint, work, 0.8, keep_state=True)
            resume_times.append(seconds)
        rehash_seconds, _ = time_resume(endpoint, work, 0.8, keep_state=False)
    finally:
        stop.set()
        child.join(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    mib = size / 1024 / 1024
    hf_median, picker_median = statistics.median(hf_times), statistics.median(picker_times)
    # Ratios of back-to-back runs cancel most of a shared machine's drift.
    throughput_ratios = [hf / mine for hf, mine in zip(hf_times, picker_times, strict=True)]
    resume_ratios = [resume / mine for resume, mine in zip(resume_times, picker_times, strict=True)]
    print(f"file: {mib:.0f} MiB on loopback, {args.runs} rounds of back-to-back runs")
    print(
        f"hf_hub_download:        {mib / hf_median:7.1f} MiB/s  "
        f"(median {hf_median:.2f} s, best {min(hf_times):.2f} s)"
    )
    print(
        f"picker (with sha256):   {mib / picker_median:7.1f} MiB/s  "
        f"(median {picker_median:.2f} s, best {min(picker_times):.2f} s)"
    )
    print(
        f"throughput ratio picker/hf: median {statistics.median(throughput_ratios):.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in throughput_ratios)})  target >= 0.90"
    )
    print(
        f"resume from {resumed_from / size:.0%}: median {statistics.median(resume_times):.2f} s = "
        f"{statistics.median(resume_ratios):.2f} of a fresh picker download "
        f"(rounds: {', '.join(f'{r:.2f}' for r in resume_ratios)})  target <= 0.25"
    )
    print(
        f"  without a saved hash state (prefix re-hashed): {rehash_seconds:.2f} s = "
        f"{rehash_seconds / picker_median:.2f}; saved state available here: {state_saving_available()}"
    )

if __name__ == "__main__":
    main()
