"""Plans across several machines (llama.cpp RPC): a GPU box, a Mac and a CPU box, from probe files."""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from picker.errors import UsageError
from picker.llama_settings import LlamaSettings
from picker.memory.estimate import shape_from_facts
from picker.memory.shape import ModelShape
from picker.memory.synthetic import SyntheticModel, write_model
from picker.rpc.hosts import read_hosts, split_devices
from picker.rpc.link import parse_link
from picker.rpc.plan import HostsPlan, plan_across_hosts
from picker.rpc.report import hosts_text
from tests.cli_helpers import run_picker

GIB = 1024**3


def probe_document(*, ram: int, available: int, gpus: list[dict[str, Any]],
                   cpu: str = "AMD Ryzen 9 7950X", cores: int = 16) -> dict[str, Any]:
    """What `picker probe --json` writes (the fields the planner reads, plus some it ignores)."""
    return {"schema_version": 1, "hardware": {
        "cpu": {"name": cpu, "architecture": "x86_64", "physical_cores": cores,
                "logical_cores": cores * 2, "features": ["AVX2", "FMA"], "inference_threads": cores,
                "sources": {"name": "/proc/cpuinfo"}},
        "memory": {"total_bytes": ram, "available_bytes": available, "swap_total_bytes": 0,
                   "swap_free_bytes": 0, "sources": {}},
        "disk": None, "gpus": gpus, "os": "Linux 6.8", "warnings": [], "overridden": [],
        "probe_seconds": 0.01}}


GPU_BOX = probe_document(ram=64 * GIB, available=60 * GIB, gpus=[{
    "index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 4090", "memory_kind": "dedicated",
    "total_bytes": 24 * GIB, "free_bytes": 23 * GIB, "driver_version": "550.54",
    "compute_capability": "8.9", "pci_bus_id": None, "power_limit_watts": 450.0,
    "source": "NVML", "notes": []}])
MAC = probe_document(ram=64 * GIB, available=50 * GIB, cpu="Apple M2 Max", cores=12, gpus=[{
    "index": 0, "vendor": "apple", "name": "Apple M2 Max", "memory_kind": "unified",
    "total_bytes": 48 * GIB, "free_bytes": 48 * GIB, "source": "sysctl", "notes": []}])
CPU_BOX = probe_document(ram=128 * GIB, available=120 * GIB, gpus=[])


@pytest.fixture
def probes(tmp_path: Path) -> Path:
    for name, document in (("gpu-box", GPU_BOX), ("mac", MAC), ("cpu-box", CPU_BOX)):
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    return tmp_path


def llama_70b(file_gib: float = 42.5) -> ModelShape:
    return shape_from_facts(architecture="llama", n_layer=80, n_embd=8192, n_head=64, n_head_kv=8,
                            n_vocab=128256, n_ctx_train=131072, n_ff=28672,
                            file_size_bytes=int(file_gib * GIB))


def llama_cpp_layers(n_layer: int, n_gpu_layers: int, tensor_split: list[int]) -> list[int]:
    """Blocks per device as llama.cpp's load_tensors assigns them: float32 split points,
    std::upper_bound over (il - i_gpu_start) / act_gpu_layers (written here on its own)."""
    cumulative = np.cumsum(np.array(tensor_split, dtype=np.float32))
    points = list(cumulative / np.float32(cumulative[-1]))
    start = max(n_layer + 1 - n_gpu_layers, 0)
    active = min(n_gpu_layers, n_layer + 1)
    counts = [0] * len(tensor_split)
    for il in range(start, n_layer):  # blocks only; index n_layer is the output layer
        counts[bisect.bisect_right(points, np.float32(il - start) / np.float32(active))] += 1
    return counts


def hosts_of(probes: Path, *names: str) -> str:
    return ",".join(str(probes / name) for name in names)


def plan_for(probes: Path, names: tuple[str, ...], shape: ModelShape, n_ctx: int,
             link: str) -> HostsPlan:
    hosts = read_hosts(hosts_of(probes, *names))
    return plan_across_hosts(shape, LlamaSettings(n_ctx=n_ctx), hosts, parse_link(link), ["-m", "x"])


def test_a_70b_splits_over_a_gpu_box_a_mac_and_a_cpu_box(probes: Path) -> None:
    hosts_plan = plan_for(probes, ("gpu-box.json", "mac.json@192.168.1.20",
                                   "cpu-box.json@192.168.1.30"), llama_70b(), 8192, "10gbit")
    split = hosts_plan.split
    plan = split.plan
    assert split.fits and plan.shortfall_bytes == 0
    # llama.cpp's order: the RPC hosts' devices first, then the main host's GPU (the output);
    # the CPU box (slowest) is not needed and is left out
    assert [(d.host, d.backend_name) for d in split.devices] == [
        ("mac", "MTL0"), ("gpu-box", "CUDA0")]
    assert plan.output_device == "GPU1"
    # every block offloaded; the tensor split, read as llama.cpp reads it, gives each device
    # exactly the blocks the plan put there
    assert split.n_gpu_layers == 81 == sum(split.tensor_split)
    counts = llama_cpp_layers(80, split.n_gpu_layers, list(split.tensor_split))
    assert counts == list(split.blocks) == [device.layers for device in plan.devices[1:]]
    for memory in plan.devices:
        assert memory.free_bytes is not None and memory.total_bytes <= memory.free_bytes
    # fastest first: the 4090 (1008 GB/s) is full to within a layer, the Mac (400 GB/s) holds
    # the rest, the CPU box (slowest) holds nothing and is left out of the commands
    gpu = plan.devices[2]
    assert gpu.free_bytes is not None
    assert gpu.free_bytes - gpu.total_bytes < max(plan.shape.layer_weight_bytes) + 64 * 1024**2
    assert split.blocks[0] > 0 and split.unused_hosts == ("cpu-box",)
    assert [s.host for s in hosts_plan.commands.rpc_servers] == ["mac"]


def test_commands_carry_the_plan(probes: Path) -> None:
    hosts_plan = plan_for(probes, ("cpu-box.json", "gpu-box.json@10.0.0.2:50060",
                                   "mac.json@10.0.0.3"), llama_70b(), 4096, "1gbit")
    split = hosts_plan.split
    assert split.fits
    servers = hosts_plan.commands.rpc_servers
    assert [(s.host, s.argv) for s in servers] == [
        ("gpu-box", ("ggml-rpc-server", "-H", "10.0.0.2", "-p", "50060", "-d", "CUDA0", "-c")),
        ("mac", ("ggml-rpc-server", "-H", "10.0.0.3", "-p", "50052", "-d", "MTL0", "-c")),
    ]
    main = list(hosts_plan.commands.main)
    flag = {main[i]: main[i + 1] for i in range(1, len(main) - 1) if main[i].startswith("-")}
    assert main[0] == "llama-server" and flag["-m"] == "x"
    assert flag["--rpc"] == "10.0.0.2:50060,10.0.0.3:50052"
    assert flag["-ts"] == ",".join(map(str, split.tensor_split))
    assert flag["-ngl"] == str(split.n_gpu_layers) and flag["--fit"] == "off"
    assert (flag["-c"], flag["-fa"], flag["-np"]) == ("4096", "off", "1")
    # a CPU main host: no local GPU, so the last RPC device (the Mac) holds the output layer
    assert split.plan.output_device == f"GPU{len(split.devices) - 1}"
    assert split.devices[-1].host == "mac"
    text = hosts_text(hosts_plan, "x")
    assert "no authentication" in text and hosts_plan.commands.to_dict()["main"]["line"] in text


def test_a_model_too_big_for_all_three_says_how_short_and_what_would_help(probes: Path) -> None:
    huge = llama_70b(file_gib=300.0)  # more than 23 + 48 + 120 GiB free, plus the main RAM
    hosts_plan = plan_for(probes, ("gpu-box.json", "mac.json", "cpu-box.json"), huge, 8192,
                          "1gbit")
    split = hosts_plan.split
    assert not split.fits and split.plan.shortfall_bytes > 20 * GIB
    assert hosts_plan.max_context == 0
    assert hosts_plan.advice[0].startswith("short by")
    assert any("any context" in tip for tip in hosts_plan.advice)
    assert "fits: no" in hosts_text(hosts_plan, "huge.gguf")


def test_a_small_model_needs_no_rpc_and_the_advice_says_so(probes: Path) -> None:
    small = shape_from_facts(architecture="llama", n_layer=32, n_embd=4096, n_head=32, n_head_kv=8,
                             n_vocab=128256, n_ctx_train=131072, file_size_bytes=5 * GIB)
    hosts_plan = plan_for(probes, ("gpu-box.json", "mac.json", "cpu-box.json"), small, 8192,
                          "1gbit")
    assert hosts_plan.split.fits and hosts_plan.split.unused_hosts == ("mac", "cpu-box")
    assert hosts_plan.commands.rpc_servers == ()
    assert "--rpc" not in hosts_plan.commands.main
    assert hosts_plan.advice == ("fits on the main host alone: no RPC server is needed",)


def test_the_speed_estimate_names_its_bound(probes: Path) -> None:
    names = ("cpu-box.json", "mac.json", "gpu-box.json")
    shape = shape_from_facts(architecture="llama", n_layer=16, n_embd=2048, n_head=32,
                             n_head_kv=8, n_vocab=128256, n_ctx_train=131072,
                             file_size_bytes=GIB)
    fast = plan_for(probes, names, shape, 4096, "loopback")
    slow = plan_for(probes, names, shape, 4096, "100mbit")
    # the output layer is on the remote GPU box: its logits (128256 x 4 B) come back per token
    assert fast.speed.link_bytes_per_token >= 128256 * 4
    assert fast.speed.bound == "device" and "bound by the devices" in fast.speed.bound_text
    assert slow.speed.bound == "link" and "bound by the link" in slow.speed.bound_text
    assert slow.speed.estimate.tokens_per_second < fast.speed.estimate.tokens_per_second
    assert slow.speed.estimate.tokens_per_second < 1 / slow.speed.link_seconds_per_token
    assert slow.speed.to_dict()["basis"] == "estimate"


def test_two_servers_on_one_address_get_their_own_ports(probes: Path) -> None:
    hosts = read_hosts(hosts_of(probes, "cpu-box.json", "mac.json@127.0.0.1",
                                "gpu-box.json@127.0.0.1"))
    assert [(h.address, h.port) for h in hosts[1:]] == [("127.0.0.1", 50052), ("127.0.0.1", 50053)]
    with pytest.raises(UsageError, match=r"both at 127\.0\.0\.1:50052"):
        read_hosts(hosts_of(probes, "cpu-box.json", "mac.json@127.0.0.1:50052",
                            "gpu-box.json@127.0.0.1:50052"))


@pytest.mark.parametrize(("content", "says"), [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    ('{"hardware": {"cpu": {}}}', "hardware.memory is missing"),
    ('{"hardware": {"cpu": {}, "memory": {"total_bytes": "64G", "available_bytes": 1}}}',
     "hardware.memory.total_bytes is not a whole number"),
    (json.dumps({**GPU_BOX, "hardware": {**GPU_BOX["hardware"], "gpus": [{"vendor": "nvidia"}]}}),
     "hardware.gpus[0].memory_kind is missing"),
    ("[1, 2]", "the document is not an object"),
    (b"\xff\xfe", "not UTF-8"),
    ("folder", "is a folder"),
])
def test_a_bad_probe_file_is_one_line_naming_the_file(probes: Path, content: str | bytes | None,
                                                       says: str) -> None:
    bad = probes / "box2.json"
    if content == "folder":
        bad.mkdir()
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    with pytest.raises(UsageError) as caught:
        read_hosts(hosts_of(probes, "gpu-box.json", "box2.json"))
    message = caught.value.message
    assert str(bad) in message and says in message and "\n" not in message
    assert "picker probe --json > box2.json" in message


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SyntheticModel("rpc", n_layer=6, n_embd=512, n_head=8, n_head_kv=2, head_dim=64,
                          n_ff=1536, n_vocab=32000, n_ctx_train=16384)
    return write_model(spec, tmp_path_factory.mktemp("rpc") / "rpc.gguf")


def test_cli_plans_from_probe_files_and_prints_the_commands(probes: Path, gguf_file: Path) -> None:
    hosts = hosts_of(probes, "cpu-box.json", "mac.json@192.168.1.20", "gpu-box.json@192.168.1.21")
    result = run_picker("fit", str(gguf_file), "--hosts", hosts, "--link", "10gbit", "--ctx",
                        "4096", "--json")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["fits"] is True and document["link"]["name"] == "10gbit"
    assert document["commands"]["main"]["argv"][:3] == ["llama-server", "-m", str(gguf_file)]
    assert document["tensor_split"] == [d["layers"] + (d["plan_device"] == "GPU0")
                                        for d in document["devices"][1:]]
    assert [d["device"] for d in document["devices"]] == ["CPU", "CUDA0"]  # fastest takes all
    assert document["speed"]["basis"] == "estimate" and document["speed"]["bound"] in (
        "device", "link")
    text = run_picker("fit", str(gguf_file), "--hosts", hosts, "--ctx", "4096")
    assert text.returncode == 0 and "ggml-rpc-server -H 192.168.1.21 -p 50052 -d CUDA0 -c" in (
        text.stdout)


@pytest.mark.parametrize("flags", [["--hosts", "MISSING"], ["--link", "10gbit"],
                                   ["--hosts", "A,B", "--link", "fast"]])
def test_cli_bad_hosts_flags_exit_2_with_one_line(probes: Path, gguf_file: Path,
                                                  flags: list[str]) -> None:
    flags = [flag.replace("MISSING", f"{probes}/gpu-box.json,{probes}/nope.json")
             .replace("A,B", hosts_of(probes, "gpu-box.json", "mac.json")) for flag in flags]
    result = run_picker("fit", str(gguf_file), *flags)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


RPC_LOG = Path(__file__).parent / "data/llama_logs/gemma3-270m-q4_k_m-rpc-ts9-10-n_ctx2048.log"


def test_gemma_over_two_rpc_servers_matches_llama_cpps_buffers(gemma_gguf_path: Path,
                                                               tmp_path: Path) -> None:
    """Two loopback servers sized so that 9 + 9 blocks just fit: the solver finds that split
    (llama.cpp then pipelines the devices, and each needs more compute than a greedy fill
    left it), and its figures match what llama.cpp logged for `-ngl 19 -ts 9,10`
    (benchmarks/bench_rpc.py, llama.cpp from llama-cpp-python 0.3.36)."""
    from picker.gguf import read_header
    from picker.memory.llama_log import MIB_RESOLUTION_BYTES, parse_llama_log
    from picker.memory.plan import plan_memory
    from picker.memory.shape import shape_from_header
    from picker.rpc.split import combined_machine, solve_split

    shape = shape_from_header(read_header(gemma_gguf_path))
    settings = LlamaSettings(n_ctx=2048)
    box = probe_document(ram=16 * GIB, available=16 * GIB, gpus=[])
    for name in ("main", "box-a", "box-b"):
        (tmp_path / f"{name}.json").write_text(json.dumps(box))
    spec = hosts_of(tmp_path, "main.json", "box-a.json@127.0.0.1:50052",
                    "box-b.json@127.0.0.1:50053")
    roomy = read_hosts(spec)
    sized = plan_memory(shape, settings._replace(n_gpu_layers=19),
                        combined_machine(roomy[0], split_devices(roomy), [9, 9]))
    for name, memory in zip(("box-a", "box-b"), sized.devices[1:], strict=True):
        small = json.loads(json.dumps(box))
        small["hardware"]["memory"]["available_bytes"] = memory.total_bytes + 512 * 1024
        (tmp_path / f"{name}.json").write_text(json.dumps(small))
    split = solve_split(shape, settings, read_hosts(spec))
    assert (split.blocks, split.tensor_split, split.n_gpu_layers) == ((9, 9), (9, 10), 19)
    log = parse_llama_log(RPC_LOG.read_text())
    for index, port in enumerate((50052, 50053)):
        device = f"RPC0[127.0.0.1:{port}]"
        memory = split.plan.devices[index + 1]
        assert abs(log.bytes_of("model", device) - memory.weights_bytes) <= MIB_RESOLUTION_BYTES
        assert abs(log.bytes_of("kv", device) - memory.kv_cache_bytes) <= 2 * MIB_RESOLUTION_BYTES
        assert abs(memory.compute_bytes / log.bytes_of("compute", device) - 1) < 0.01
    cpu = split.plan.devices[0]
    assert abs(log.bytes_of("compute", "CPU") - cpu.compute_bytes) <= MIB_RESOLUTION_BYTES
    assert abs(cpu.weights_bytes - log.bytes_of("model", "CPU_Mapped")) <= MIB_RESOLUTION_BYTES
