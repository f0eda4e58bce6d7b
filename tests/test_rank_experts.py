"""Issues 14 and 15: MoE experts kept on the CPU (llama.cpp's --n-cpu-moe) as a placement the
ranking plans, estimates and weighs, on what-if machines and the shipped catalog."""

from __future__ import annotations

import re

import pytest

from picker.catalog import load_catalog
from picker.catalog.types import Catalog
from picker.hardware.overrides import HardwareOverrides
from picker.llama_settings import LlamaSettings
from picker.memory.expert_split import pinned_split
from picker.memory.machine import machine_from_snapshot
from picker.memory.plan import plan_memory
from picker.memory.solver import choose_cpu_moe, choose_gpu_layers
from picker.rank.candidates import (
    Candidate,
    device_loads,
    experts_on_cpu,
    plan_device_ids,
)
from picker.rank.engine import RankOptions, RankResult, Recommendation, recommend
from picker.rank.quality import retention
from picker.rank.quant_policy import FLOOR_QUANT, NEAR_FLOOR_LOSS
from picker.speed.estimate import estimate_speed
from tests.test_rank import CPU_BANDWIDTH, GIB, PROFILES, snapshot_for

ONE_4090 = HardwareOverrides(ram_bytes=64 * GIB, vram_bytes=(24 * GIB,), gpu_name="RTX 4090")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(autouse=True)
def machines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROFILES, "64g-24g-gpu", ONE_4090)


def ranked(catalog: Catalog, profile: str) -> RankResult:
    return recommend(snapshot_for(profile), catalog, RankOptions(limit=None), CPU_BANDWIDTH)


def pick(result: RankResult, model_id: str) -> Recommendation:
    return next(rec for rec in result.recommendations if rec.model.id == model_id)


def test_gpt_oss_120b_keeps_the_experts_of_some_layers_on_the_cpu_of_two_24gb_gpus(
        catalog: Catalog) -> None:
    rec = pick(ranked(catalog, "64g-2x24g-gpu"), "gpt-oss-120b")
    plan, shape = rec.candidate.plan, rec.candidate.shape
    moved = experts_on_cpu(plan)
    assert plan.placement == "gpu" and 0 < moved < shape.n_layer
    assert plan.cpu_moe_bytes > 0 and plan.settings.n_cpu_moe == moved
    # The plan is the fit engine's: re-planned with its settings and its layers per GPU
    # (--tensor-split), it fits, and both GPUs hold blocks.
    machine = machine_from_snapshot(snapshot_for("64g-2x24g-gpu"))
    again = plan_memory(shape, plan.settings, pinned_split(machine, plan))
    assert again.fits and again.total_bytes == plan.total_bytes
    assert all(device.layers > 0 for device in again.devices if device.device != "CPU")
    # With llama.cpp's split by free memory the experts moved are all the first GPU's, so the
    # solver alone needs more blocks' experts on the CPU; re-splitting the blocks saves them.
    default = choose_cpu_moe(shape, LlamaSettings(n_ctx=rec.candidate.context, n_gpu_layers=None,
                                                  n_cpu_moe=None), machine)
    assert default.fits and moved < experts_on_cpu(default)
    # One block fewer does not fit however the blocks are split: every split the planner can
    # pin leaves some GPU short.
    fewer = LlamaSettings(n_ctx=rec.candidate.context, n_gpu_layers=shape.n_layer + 1,
                          n_cpu_moe=moved - 1)
    splits = [(first, shape.n_layer + 1 - first) for first in range(shape.n_layer + 1)]
    tight = [plan_memory(shape, fewer, machine._replace(gpus=tuple(
        gpu._replace(split_weight=share) for gpu, share in zip(machine.gpus, split, strict=True))))
        for split in splits]
    headroom = 0.05  # the score's comfortable headroom: the plan may keep one block more for it
    assert not any(
        all((device.free_bytes or 0) * (1 - headroom) >= device.total_bytes
            for device in other.devices if device.device != "CPU") for other in tight)


def test_experts_on_the_cpu_beat_the_layer_split_of_the_same_quant(catalog: Catalog) -> None:
    result = ranked(catalog, "64g-24g-gpu")
    rec = pick(result, "gpt-oss-120b")
    assert experts_on_cpu(rec.candidate.plan) > 0
    machine = machine_from_snapshot(snapshot_for("64g-24g-gpu"))
    split = choose_gpu_layers(rec.candidate.shape, LlamaSettings(
        n_ctx=rec.candidate.context, n_gpu_layers=None), machine)
    assert split.fits and split.placement == "partial"
    layer_split = recommend(snapshot_for("64g-24g-gpu"), catalog._replace(models=(rec.model,)),
                            RankOptions(limit=1), CPU_BANDWIDTH)
    assert layer_split.recommendations[0].candidate.plan == rec.candidate.plan
    # The attention, shared weights and KV stay on the GPU; the CPU reads only the active
    # experts of its blocks: faster than whole blocks on the CPU.
    active = rec.model.active_parameters / rec.model.parameters
    ids = plan_device_ids(snapshot_for("64g-24g-gpu"))
    speed = estimate_speed(device_loads(Candidate(rec.candidate.quant, rec.candidate.shape, split,
                                                  rec.candidate.context), active, ids),
                           result.bandwidths, rec.model.active_parameters, rec.candidate.context,
                           rec.candidate.quant.type, rec.model.parameters)
    assert rec.speed.tokens_per_second > 1.2 * speed.tokens_per_second
    assert "experts of" in rec.components["speed"].why


def test_experts_leave_the_gpu_only_where_no_floor_quant_fits_on_it_whole(
        catalog: Catalog) -> None:
    result = ranked(catalog, "64g-24g-gpu")
    floor = retention(FLOOR_QUANT, catalog.quant_types).factor
    # Qwen3.6 35B-A3B fits one 24 GB GPU whole at Q4_K_M: it is not slowed down for Q8_0.
    small = pick(result, "qwen3.6-35b-a3b")
    assert experts_on_cpu(small.candidate.plan) == 0 and small.candidate.plan.placement == "gpu"
    assert small.retention >= floor
    # Qwen3-Next 80B-A3B does not: at Q4_K_M or better it keeps experts on the CPU, all its
    # layers on the GPU, and stays comfortably fast.
    big = pick(result, "qwen3-next-80b-a3b-thinking")
    assert big.retention >= floor and experts_on_cpu(big.candidate.plan) > 0
    assert big.candidate.plan.placement == "gpu"
    assert big.speed.best_tokens_per_second >= 10


def test_the_reason_names_the_smaller_quant_that_would_move_fewer_experts(catalog: Catalog) -> None:
    rec = pick(ranked(catalog, "32g-24g-gpu"), "qwen3-next-80b-a3b-thinking")
    floor = retention(FLOOR_QUANT, catalog.quant_types).factor
    assert rec.retention >= floor and experts_on_cpu(rec.candidate.plan) > 0
    assert "IQ4_XS would run on the GPU" in rec.quant_reason
    assert f"experts of {experts_on_cpu(rec.candidate.plan)} layers on the CPU" in rec.quant_reason


def test_a_quant_just_under_the_floor_on_the_gpus_beats_experts_on_the_cpu(catalog: Catalog) -> None:
    # 2 x 24 GB: IQ4_XS (~98.6 % kept) holds Qwen3-Next-80B-A3B on the GPUs at ~225 tokens/s;
    # Q4_K_M and better (~98.8 % and up) need experts on the CPU and read at ~45.
    rec = pick(ranked(catalog, "64g-2x24g-gpu"), "qwen3-next-80b-a3b-thinking")
    floor = retention(FLOOR_QUANT, catalog.quant_types).factor
    assert rec.candidate.quant.type == "IQ4_XS"
    assert rec.retention >= floor * (1 - NEAR_FLOOR_LOSS)
    assert rec.candidate.plan.placement == "gpu" and experts_on_cpu(rec.candidate.plan) == 0
    assert rec.quant_reason.startswith("IQ4_XS rather than ")
    assert "within 0.5 % of Q4_K_M's" in rec.quant_reason and "layers on the CPU" in rec.quant_reason
    # the quant it is preferred to is one that keeps experts on the CPU, named with their count
    moved = re.search(r"needs the experts of (\d+) layers on the CPU", rec.quant_reason)
    assert moved is not None and int(moved.group(1)) > 0


@pytest.mark.parametrize("profile", ["64g-2x24g-gpu", "apple-16g", "32g-24g-gpu"])
def test_dense_models_and_unified_memory_never_move_experts(catalog: Catalog,
                                                            profile: str) -> None:
    for rec in ranked(catalog, profile).recommendations:
        if experts_on_cpu(rec.candidate.plan):
            assert rec.candidate.shape.n_expert, rec.model.id
            assert not profile.startswith("apple"), rec.model.id


def test_the_row_json_and_commands_carry_the_experts_on_the_cpu(catalog: Catalog) -> None:
    import shlex

    from picker.rank.document import recommendation_record, render_text

    result = ranked(catalog, "64g-2x24g-gpu")
    snapshot = snapshot_for("64g-2x24g-gpu")
    rec = pick(result, "gpt-oss-120b")
    moved = experts_on_cpu(rec.candidate.plan)
    record = recommendation_record(1, rec, result, catalog, snapshot)
    document = record.to_dict()
    assert document["placement"] == "gpu" and document["n_cpu_moe"] == moved > 0
    assert document["n_gpu_layers"] == rec.candidate.plan.gpu_layers
    # The printed llama-server line is the plan: every layer, these experts, these layers per GPU.
    commands = document["commands"]
    assert isinstance(commands, dict)
    argv = shlex.split(commands["llama_server"])
    assert argv[0] == "llama-server" and "--hf-file" in argv
    assert argv[argv.index("--n-cpu-moe") + 1] == str(moved)
    assert argv[argv.index("-ngl") + 1] == str(rec.candidate.plan.gpu_layers)
    split = document["gpu_split"]
    assert isinstance(split, dict)
    assert argv[argv.index("-ts") + 1] == ",".join(map(str, split["tensor_split"]))
    assert "--n-gpu-layers" not in commands["smoke"]  # its runtime cannot pin this plan
    assert any("--n-cpu-moe" in note for note in record.notes)
    text = render_text(result._replace(recommendations=(rec,)), [record])
    assert f"gpu + experts of {moved} layers on CPU" in text
    assert f"--n-cpu-moe {moved}" in text
    whole = pick(result, "qwen3.6-27b")
    plain = recommendation_record(2, whole, result, catalog, snapshot)
    assert plain.to_dict()["n_cpu_moe"] == 0 and plain.commands.llama_server is None


def test_the_tui_marks_the_row_and_runs_its_own_runtime_on_the_layer_split(
        catalog: Catalog) -> None:
    from picker.rank.document import recommendation_record
    from picker.tui.actions import runtime_gpu_layers
    from picker.tui.widgets.model_table import row_cells

    result = ranked(catalog, "64g-2x24g-gpu")
    snapshot = snapshot_for("64g-2x24g-gpu")
    moe = recommendation_record(1, pick(result, "gpt-oss-120b"), result, catalog, snapshot)
    dense = recommendation_record(2, pick(result, "qwen3.6-27b"), result, catalog, snapshot)
    # llama-cpp-python cannot keep experts on the CPU: smoke, chat and serve let the solver
    # choose the layers instead of pinning every layer on the GPUs (which would not fit).
    assert runtime_gpu_layers(moe) is None
    assert runtime_gpu_layers(dense) == dense.n_gpu_layers
    assert "gpu+moe" in [str(cell) for cell in row_cells(moe)]
    assert "gpu" in [str(cell) for cell in row_cells(dense)]


def test_fit_auto_re_splits_the_blocks_across_two_gpus_as_the_ranking_does() -> None:
    import shlex

    from tests.cli_helpers import run_picker

    flags = ("gpt-oss-120b:MXFP4_MOE", "--ram", "64G", "--vram", "24G,24G", "--gpu", "RTX 3090",
             "--ctx", "8192")
    auto = run_picker("fit", *flags, "--n-cpu-moe", "auto", "--json").json()
    devices = {d["device"]: d for d in auto["memory"]["devices"]}
    assert auto["placement"] == "gpu" and auto["shortfall_bytes"] == 0
    moved = auto["settings"]["n_cpu_moe"]
    # With llama.cpp's split by free memory (what an explicit --n-cpu-moe keeps) the same
    # count does not hold every layer on the GPUs: the first GPU holds only the first blocks,
    # whose experts moved. The solver on that split needs many more blocks' experts moved.
    same = run_picker("fit", *flags, "--n-cpu-moe", str(moved), "--json").json()
    assert same["placement"] == "partial" and same["n_gpu_layers"] < auto["n_gpu_layers"]
    from picker.hardware.overrides import HardwareOverrides, apply_overrides
    from picker.targets.shape import load_shape

    shape, _ = load_shape("gpt-oss-120b:MXFP4_MOE")
    machine = machine_from_snapshot(apply_overrides(snapshot_for("laptop-8g"), HardwareOverrides(
        ram_bytes=64 * GIB, vram_bytes=(24 * GIB, 24 * GIB), gpu_name="RTX 3090")))
    default = choose_cpu_moe(shape, LlamaSettings(n_ctx=8192, n_gpu_layers=None, n_cpu_moe=None),
                             machine)
    assert default.fits and 0 < moved < experts_on_cpu(default)
    assert "--tensor-split" in auto["defaults_used"]["n_cpu_moe"]
    line = run_picker("fit", *flags, "--n-cpu-moe", "auto", "--emit", "llama-server").stdout
    argv = shlex.split(line)
    assert argv[argv.index("--n-cpu-moe") + 1] == str(moved)
    shares = [int(share) for share in argv[argv.index("-ts") + 1].split(",")]
    assert shares == [devices["GPU0"]["layers"], devices["GPU1"]["layers"] + 1]
    assert shares[0] > shares[1]  # the first GPU takes the light blocks


def test_the_advisor_offers_the_re_split_experts_and_they_are_faster() -> None:
    from tests.cli_helpers import run_picker

    document = run_picker("fit", "gpt-oss-120b:MXFP4_MOE", "--ram", "64G", "--vram", "24G,24G",
                          "--gpu", "RTX 3090", "--ctx", "8192", "--json").json()
    assert document["placement"] == "partial"  # every expert with its layer: a layer split
    advice = document["advice"]
    experts = next(c for c in advice["changes"] if c["change"] == "experts_on_cpu")
    assert experts["placement"] == "gpu" and experts["fits"]
    assert f"--n-cpu-moe {experts['n_cpu_moe']} --tensor-split " in experts["flags"]
    assert experts["generation_tokens_per_second"] > advice["generation_tokens_per_second"]
