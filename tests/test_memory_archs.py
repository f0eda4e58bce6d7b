"""Plans of the 2026 architectures against llama.cpp's own dry run, a fast subset.

Real-shaped sparse GGUFs (picker/memory/synthetic_archs.py: Qwen3-30B-A3B, Qwen3.5-27B
and -35B-A3B, Qwen3-Next-80B-A3B, Gemma 4 E4B and 26B-A4B, DeepSeek-V2-Lite and -V3,
GLM-4.5-Air, gpt-oss-20b, Mistral Small 4 (mistral4: deepseek2's MLA, experts' gate and up
fused), GLM-5 (glm-dsa: MLA with DeepSeek's sparse attention and its indexer cache),
DeepSeek-V3.2 (deepseek32: the same sparse attention over V3's shape), DeepSeek-V4-Flash
(deepseek4: a K-only window, compressed caches, the indexer's, compressor state); the dense
Seed-OSS-36B, SmolLM3-3B, OLMo 3 7B and Ministral 3 8B;
the Mamba-2 hybrid Granite 4.0 H Micro; Llama 4 Scout; Trinity Mini (afmoe: gated
attention, three sliding blocks of four, dense lead blocks and shared experts); Step 3.5
Flash (step35) and MiMo-V2-Flash (mimo2): sliding and full layers with their own query /
KV head counts) are measured with llama-cpp-python 0.3.36's no-alloc dry run. Weights
(the file's tensors less those llama.cpp skips), the KV cache, the recurrent state and the
output buffer must match to llama.cpp's MiB rounding; the compute buffer within 2 % or
16 MiB, or, where the plan says it is a closed-form estimate, within the range it states.
benchmarks/bench_memory.py --archs prints the full grid.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from picker.errors import UsageError
from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.estimate import Layout, shape_from_facts
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import ModelShape, shape_from_header
from picker.memory.synthetic import SyntheticModel, write_model
from picker.memory.synthetic_archs import ARCH_SHAPES, ArchModel, write_arch_model
from tests.cli_helpers import run_picker
from tests.dry_run_checks import inside_stated_range

MIB = 1024 * 1024
GRID = (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True),
        LlamaSettings(n_ctx=32768, flash_attn=True, type_k="q8_0", type_v="q8_0"))
# Architectures whose compute buffer comes from the allocator replay: exact to llama.cpp's
# own rounding, never a closed-form estimate.
REPLAYED = frozenset({"qwen3-30b-a3b", "qwen3.5-27b", "qwen3.5-35b-a3b", "qwen3-next-80b-a3b",
                      "ernie-4.5-0.3b", "ernie-4.5-21b-a3b", "ling-mini-2.0", "apertus-8b",
                      "glm-4.5-air", "gpt-oss-20b", "deepseek-v2-lite", "deepseek-v3",
                      "gemma4-e4b", "gemma4-26b-a4b", "seed-oss-36b", "smollm3-3b",
                      "ministral-3-8b", "olmo-3-7b", "llama-4-scout", "mistral-small-4",
                      "glm-5", "deepseek-v3.2", "trinity-mini",
                      "nanbeige-4.2-3b", "step-3.5-flash", "mimo-v2-flash"})


@pytest.fixture(scope="module")
def arch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("arch-shapes")
    for model in ARCH_SHAPES.values():
        write_arch_model(model, folder / f"{model.name}.gguf")
    return folder


def _settings(context: LlamaSettings) -> LlamaSettings:
    return LlamaSettings(n_ctx=context.n_ctx, n_batch=context.n_batch, n_ubatch=context.n_ubatch,
                    flash_attn=context.flash_attn, type_k=context.type_k, type_v=context.type_v)


@pytest.mark.parametrize("name", sorted(ARCH_SHAPES))
def test_2026_architectures_match_llama_cpp(arch_dir: Path, name: str) -> None:
    header = read_header(arch_dir / f"{name}.gguf")
    shape = shape_from_header(header)
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    failures = []
    for probe in run_probe(ProbeRequest(str(arch_dir / f"{name}.gguf"), contexts=GRID)):
        if not probe.ok:  # refused alike, for llama.cpp's reason (Kimi Linear: V heads of 72
            # that a q8_0 cache's blocks of 32 do not divide)
            with pytest.raises(UsageError) as refused:
                plan_memory(shape, _settings(probe.settings), Machine(cpu_free_bytes=None))
            # llama.cpp's own words, less the advice picker adds after them
            reason = str(refused.value).split("refuses this: ")[-1].split("; ")[0]
            assert reason in probe.error, probe.error
            continue
        plan = plan_memory(shape, _settings(probe.settings), Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True,
                                                 tensor_bytes=tensor_bytes)}
        for kind in ("weights", "kv_cache", "recurrent", "output"):
            if kind in rows and not rows[kind].within_rounding:
                failures.append(f"{probe.settings}: {kind} {rows[kind]}")
        compute = rows["compute"]
        estimate = next((note for note in plan.notes if "compute buffer estimated" in note), None)
        if name in REPLAYED:
            ok = estimate is None and compute.within_rounding
        elif estimate is None:
            ok = abs(compute.error_percent) <= 2.0 or abs(compute.error_bytes) <= 16 * MIB
        else:
            ok = inside_stated_range(estimate, compute.error_percent)
        if not ok:
            failures.append(f"{probe.settings}: compute {compute} ({plan.notes})")
    assert failures == []


def test_mistral4_experts_as_two_tensors_or_grouped_replay_as_llama_cpp(tmp_path: Path) -> None:
    """Mistral Small 4 converted with its experts' gate and up apart (older converters) or
    with the config's expert groups stated: still replayed, to llama.cpp's rounding."""
    base = ARCH_SHAPES["mistral-small-4"]
    variants = (replace(base, fused_gate_up=False),
                replace(base, keys={**base.keys, "expert_group_count": 8,
                                    "expert_group_used_count": 1}))
    for index, model in enumerate(variants):
        path = write_arch_model(model, tmp_path / f"variant-{index}.gguf")
        shape = shape_from_header(read_header(path))
        assert shape.fused_gate_up is model.fused_gate_up
        _replayed_exactly(path, shape, GRID[:2])


def _replayed_exactly(path: Path, shape: ModelShape, contexts: tuple[LlamaSettings, ...]
                      ) -> None:
    """The compute buffer replayed (no closed-form note) and, with the KV cache, equal to
    llama.cpp's dry run of `path` to its rounding at each of `contexts`."""
    for probe in run_probe(ProbeRequest(str(path), contexts=contexts)):
        assert probe.ok, probe.error
        plan = plan_memory(shape, _settings(probe.settings), Machine(cpu_free_bytes=None))
        assert not [note for note in plan.notes if "compute buffer estimated" in note]
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["compute"].within_rounding, rows["compute"]
        assert rows["kv_cache"].within_rounding, rows["kv_cache"]


def test_ling_with_mtp_and_at_flash_size_replay_as_llama_cpp(tmp_path: Path) -> None:
    """Ling 2.0 files with an MTP block after the main ones (the converter adds it when a
    config states num_nextn_predict_layers; llama.cpp skips its tensors) and Ling-flash-2.0's
    width (32 blocks of 4096, 32 heads / 4 KV, experts of 1024): replayed to llama.cpp's
    rounding, the KV cache exact."""
    base = ARCH_SHAPES["ling-mini-2.0"]
    variants = (replace(base, n_layer=21, keys={**base.keys, "nextn_predict_layers": 1}),
                replace(base, n_layer=32, n_embd=4096, n_head=32, n_ff=9216,
                        keys={**base.keys, "expert_feed_forward_length": 1024,
                              "expert_shared_feed_forward_length": 1024}))
    for index, model in enumerate(variants):
        path = write_arch_model(model, tmp_path / f"ling-{index}.gguf")
        _replayed_exactly(path, shape_from_header(read_header(path)), GRID[:2])


def _kv_exact_and_compute_in_its_stated_range(path: Path, shape: ModelShape,
                                              contexts: tuple[LlamaSettings, ...] = GRID
                                              ) -> None:
    """The KV cache (and any recurrent state) equal to llama.cpp's dry run at `contexts`; the
    closed-form compute buffer within the range the plan's note states."""
    for probe in run_probe(ProbeRequest(str(path), contexts=contexts)):
        assert probe.ok, probe.error
        plan = plan_memory(shape, probe.settings, Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        for kind in ("kv_cache", "recurrent"):
            if kind in rows:
                assert rows[kind].within_rounding, (probe.settings, rows[kind])
        note = next(note for note in plan.notes if "compute buffer estimated" in note)
        error = rows["compute"].error_percent
        assert inside_stated_range(note, error), (error, note)


def test_glm_5_2_layout_plans_its_indexer_cache_and_states_its_compute_range(
        tmp_path: Path) -> None:
    """GLM-5.2 files (a 1M trained context, no `indexer.types`): llama.cpp's default layout,
    a full indexer in blocks 0-2 and every fourth after, the others reusing its top-k. The
    indexer cache of exactly those blocks; the compute buffer on the closed form, within
    the range the plan states (the replay builds GLM-5 / 5.1's layout only)."""
    model = replace(ARCH_SHAPES["glm-5"], n_ctx_train=1048576)
    path = write_arch_model(model, tmp_path / "glm-5.2-layout.gguf")
    shape = shape_from_header(read_header(path))
    assert [il for il, full in enumerate(shape.indexer_layers) if full][:5] == [0, 1, 2, 6, 10]
    assert sum(shape.indexer_layers) == 21 and not shape.indexer_layers[78]
    _kv_exact_and_compute_in_its_stated_range(path, shape)


@pytest.mark.parametrize("name", ["glm-5", "deepseek-v3.2"])
def test_sparse_attention_catalog_facts_plan_the_indexer_cache_as_llama_cpp(
        arch_dir: Path, name: str) -> None:
    """A GLM-5 or DeepSeek-V3.2 catalog row (no header), its architecture table as a family
    file states it: MLA's latent cache and the DSA indexer's key cache as llama.cpp sizes
    them; the compute buffer on the closed form, within its stated range."""
    from types import SimpleNamespace
    from typing import cast

    from picker.catalog.build import build_architecture
    from picker.catalog.hooks import shape_from_catalog
    from picker.catalog.schema import Problems
    from picker.catalog.types import Model, Quantization

    model = ARCH_SHAPES[name]
    keys = model.keys
    path = arch_dir / f"{name}.gguf"
    problems = Problems()
    arch = build_architecture({
        "arch": model.architecture, "layers": model.n_layer - 1, "hidden_size": model.n_embd,
        "heads": model.n_head, "kv_heads": model.n_head,
        "key_length": keys["attention.key_length_mla"],
        "value_length": keys["attention.value_length_mla"], "vocab_size": model.n_vocab,
        "context_length": model.n_ctx_train, "experts": keys["expert_count"],
        "experts_used": keys["expert_used_count"], "shared_experts": 1,
        "intermediate_size": model.n_ff,
        "expert_intermediate_size": keys["expert_feed_forward_length"],
        "shared_expert_intermediate_size": keys["expert_feed_forward_length"],
        "dense_lead_layers": keys["leading_dense_block_count"], "nextn_layers": 1,
        "kv_lora_rank": keys["attention.kv_lora_rank"],
        "rope_head_dim": keys["rope.dimension_count"],
        "indexer_key_length": keys["attention.indexer.key_length"],
        "indexer_top_k": keys["attention.indexer.top_k"],
        "tied_embeddings": False, "source": "test",
    }, name, problems)
    assert arch is not None and arch.indexer_key_length == 128, problems
    facts = shape_from_catalog(cast(Model, SimpleNamespace(architecture=arch)),
                               cast(Quantization, SimpleNamespace(size_bytes=path.stat().st_size)),
                               n_ctx_train=arch.context_length)
    assert sum(facts.indexer_layers) == model.n_layer - 1
    _kv_exact_and_compute_in_its_stated_range(path, facts)


@pytest.mark.parametrize("name", ["llama-4-scout", "olmo-3-7b"])
def test_chunked_and_sliding_caches_without_swa_full_match_llama_cpp(arch_dir: Path,
                                                                     name: str) -> None:
    """llama-server's default (swa_full off): the window-sized cache, and Llama 4's chunk
    of 8192 that its files do not state."""
    header = read_header(arch_dir / f"{name}.gguf")
    shape = shape_from_header(header)
    contexts = (LlamaSettings(n_ctx=32768, swa_full=False),
                LlamaSettings(n_ctx=32768, flash_attn=True, swa_full=False, type_k="q8_0",
                                type_v="q8_0"))
    for probe in run_probe(ProbeRequest(str(arch_dir / f"{name}.gguf"), contexts=contexts)):
        assert probe.ok, probe.error
        settings = LlamaSettings(n_ctx=probe.settings.n_ctx, flash_attn=probe.settings.flash_attn,
                            swa_full=False, type_k=probe.settings.type_k,
                            type_v=probe.settings.type_v)
        plan = plan_memory(shape, settings, Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["kv_cache"].within_rounding, rows["kv_cache"]
        assert rows["compute"].within_rounding, rows["compute"]


def test_deepseek4_compressed_caches_and_state_match_llama_cpp(arch_dir: Path) -> None:
    """DeepSeek V4's cache (llama_kv_cache_dsv4) beside the arch grid's settings: llama-server's
    swa_full off, two sequences (a stream each, even where the public cache is unified) and a
    128k context: the K-only window, the ratio-4 and ratio-128 compressed caches, the
    indexer's and the compressors' per-sequence state as llama.cpp sizes them; the compute
    buffer within the closed form's stated range."""
    path = arch_dir / "deepseek-v4-flash.gguf"
    shape = shape_from_header(read_header(path))
    assert shape.compress_ratios[:4] == (0, 0, 4, 128) and shape.compress_ratios.count(4) == 21
    contexts = (LlamaSettings(n_ctx=131072, swa_full=False),
                LlamaSettings(n_ctx=32768, flash_attn=True, swa_full=False, n_seq_max=2,
                              type_k="q8_0", type_v="q8_0"),
                LlamaSettings(n_ctx=65536, flash_attn=True, n_seq_max=2, kv_unified=True))
    _kv_exact_and_compute_in_its_stated_range(path, shape, contexts)


def test_deepseek4_catalog_facts_plan_its_caches_as_llama_cpp(arch_dir: Path) -> None:
    """A DeepSeek-V4-Flash catalog row (no header): the window, the counts of ratio-4 and
    ratio-128 blocks (`csa_layers`, `hca_layers`) and the indexer's key width size the same
    caches and compressor state as llama.cpp's dry run of the real-shaped file; the compute
    buffer within the closed form's stated range."""
    from types import SimpleNamespace
    from typing import cast

    from picker.catalog.build import build_architecture
    from picker.catalog.hooks import shape_from_catalog
    from picker.catalog.schema import Problems
    from picker.catalog.types import Model, Quantization

    model = ARCH_SHAPES["deepseek-v4-flash"]
    keys = model.keys
    ratios = keys["attention.compress_ratios"][:model.n_layer]
    path = arch_dir / "deepseek-v4-flash.gguf"
    problems = Problems()
    arch = build_architecture({
        "arch": "deepseek4", "layers": model.n_layer, "hidden_size": model.n_embd,
        "heads": model.n_head, "kv_heads": 1, "key_length": model.head_dim,
        "value_length": model.head_dim, "vocab_size": model.n_vocab,
        "context_length": model.n_ctx_train, "sliding_window": keys["attention.sliding_window"],
        "experts": keys["expert_count"], "experts_used": keys["expert_used_count"],
        "shared_experts": 1, "expert_intermediate_size": keys["expert_feed_forward_length"],
        "shared_expert_intermediate_size": keys["expert_feed_forward_length"],
        "rope_head_dim": keys["rope.dimension_count"],
        "indexer_key_length": keys["attention.indexer.key_length"],
        "indexer_top_k": keys["attention.indexer.top_k"],
        "csa_layers": ratios.count(4), "hca_layers": ratios.count(128),
        "tied_embeddings": False, "source": "test",
    }, "deepseek-v4-flash", problems)
    assert arch is not None and arch.csa_layers == 21 and arch.hca_layers == 20, problems
    facts = shape_from_catalog(cast(Model, SimpleNamespace(architecture=arch)),
                               cast(Quantization, SimpleNamespace(size_bytes=path.stat().st_size)),
                               n_ctx_train=arch.context_length)
    assert facts.compress_ratios == tuple(ratios)
    contexts = (*GRID, LlamaSettings(n_ctx=131072, flash_attn=True, swa_full=False))
    _kv_exact_and_compute_in_its_stated_range(path, facts, contexts)


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_replay_skipping_repeated_blocks_places_every_block_alike(arch_dir: Path,
                                                                  name: str) -> None:
    """The fast replay (blocks recorded once, repeats skipped) equals placing every node of
    every block, at other contexts, micro-batches and sliding-window sizes than the grid's."""
    from picker.memory.compute_graph import _facts, graph_shape, reference_bytes, replay

    shape = shape_from_header(read_header(arch_dir / f"{name}.gguf"))
    facts = _facts(shape)
    assert facts is not None
    swa = facts.swa
    sliding = any(kind % 4 == 1 for kind in swa)
    for n_ctx, n_ubatch, flash, cache in ((3072, 256, False, "f16"), (20480, 512, True, "q8_0"),
                                          (1024, 128, True, "f16")):
        graph = graph_shape(shape, n_ubatch, flash, cache, cache)
        assert graph is not None
        swa_cells = min(n_ctx, 1280 + n_ubatch) if sliding else 0
        assert replay(graph, swa, n_ctx, swa_cells) == reference_bytes(graph, swa, n_ctx,
                                                                        swa_cells)


def test_hybrids_hold_kv_only_on_attention_layers(arch_dir: Path) -> None:
    shape = shape_from_header(read_header(arch_dir / "qwen3.5-27b.gguf"))
    assert [il for il in range(shape.n_layer) if shape.n_head_kv[il]] == list(range(3, 64, 4))
    assert sum(shape.recurrent_layers) == 48
    gemma = shape_from_header(read_header(arch_dir / "gemma4-e4b.gguf"))
    assert sum(1 for heads in gemma.n_head_kv if heads) == 42 - 18  # shared_kv_layers
    glm = shape_from_header(read_header(arch_dir / "glm-4.5-air.gguf"))
    assert glm.n_layer_nextn == 1 and glm.n_head_kv[46] == 0 and glm.layer_weight_bytes[46] == 0


def _from_facts(model: ArchModel, file_size_bytes: int) -> object:
    """The shape a catalog entry with the new architecture fields gives (no header)."""
    keys = model.keys
    n_nextn = keys.get("nextn_predict_layers", 0)
    pattern = keys.get("attention.sliding_window_pattern")
    heads, sliding_heads = model.n_head_kv, 0
    if isinstance(heads, list) and isinstance(pattern, list):
        # Gemma 4 26B/31B: a catalog states the global layers' count and the sliding ones'
        sliding_heads = next(h for h, swa in zip(heads, pattern, strict=True) if swa)
        heads = next(h for h, swa in zip(heads, pattern, strict=True) if not swa)
    return shape_from_facts(
        architecture=model.architecture, n_layer=model.n_layer - n_nextn, n_embd=model.n_embd,
        n_head=model.n_head, n_head_kv=heads, n_vocab=model.n_vocab,
        n_ctx_train=model.n_ctx_train, file_size_bytes=file_size_bytes,
        key_length=model.head_dim,
        value_length=keys.get("attention.value_length", model.head_dim), n_ff=model.n_ff,
        sliding_window=keys.get("attention.sliding_window", 0),
        sliding_window_pattern=pattern, n_expert=keys.get("expert_count", 0),
        n_expert_used=keys.get("expert_used_count", 0),
        tied_embeddings=model.tied_embeddings,
        layout=Layout(
            n_ff_expert=keys.get("expert_feed_forward_length", 0),
            n_ff_shared=keys.get("expert_shared_feed_forward_length", 0)
            or keys.get("expert_shared_count", 0) * keys.get("expert_feed_forward_length", 0),
            n_layer_dense_lead=keys.get("leading_dense_block_count", 0),
            n_layer_nextn=n_nextn,
            full_attention_interval=keys.get("full_attention_interval", 0)
            if "ssm.inner_size" in keys else 0,
            linear_conv_kernel=keys.get("ssm.conv_kernel", 0),
            linear_key_heads=keys.get("ssm.group_count", 0),
            linear_value_heads=keys.get("ssm.time_step_rank", 0),
            linear_key_head_dim=keys.get("ssm.state_size", 0),
            linear_value_head_dim=keys.get("ssm.state_size", 0),
            shared_kv_layers=keys.get("attention.shared_kv_layers", 0),
            n_embd_per_layer=keys.get("embedding_length_per_layer_input", 0),
            head_dim_swa=keys.get("attention.key_length_swa", 0),
            n_head_kv_swa=sliding_heads,
        ),
    )


@pytest.mark.parametrize("name", ["qwen3.5-27b", "qwen3.5-35b-a3b", "qwen3-next-80b-a3b",
                                  "gemma4-e4b", "gemma4-26b-a4b", "glm-4.5-air",
                                  "ernie-4.5-21b-a3b", "apertus-8b", "ling-mini-2.0",
                                  "qwen3-30b-a3b", "mimo-v2-flash", "trinity-mini"])
def test_catalog_facts_plan_the_kv_cache_and_state_as_the_header_does(
        arch_dir: Path, name: str) -> None:
    header = read_header(arch_dir / f"{name}.gguf")
    exact = shape_from_header(header)
    estimated = _from_facts(ARCH_SHAPES[name], exact.file_size_bytes)
    for settings in (LlamaSettings(n_ctx=8192), LlamaSettings(n_ctx=32768, flash_attn=True)):
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))  # type: ignore[arg-type]
                 for shape in (exact, estimated)]
        assert plans[1].total("kv_cache_bytes") == plans[0].total("kv_cache_bytes")
        assert plans[1].recurrent_bytes == plans[0].recurrent_bytes
        assert plans[1].shape.n_layer == plans[0].shape.n_layer  # MTP blocks placed as llama.cpp
        compute = [plan.total("compute_bytes") for plan in plans]
        assert abs(compute[1] - compute[0]) <= 0.02 * compute[0]
        if ARCH_SHAPES[name].key("ssm.inner_size"):  # the same graph replayed, to the byte
            assert compute[1] == compute[0]
            assert not [note for note in plans[1].notes if "estimated" in note]


@pytest.mark.parametrize("name", ["step-3.5-flash", "mimo-v2-flash"])
def test_per_kind_heads_windows_and_mtp_blocks_match_llama_cpp(arch_dir: Path,
                                                               name: str) -> None:
    """step35 / mimo2: query and KV heads that differ by kind of layer, llama-server's
    window-sized sliding cache (swa_full off; the compute buffer replayed exactly), and
    the MTP blocks: mimo2's skipped whole,
    step35's only in part (its loader skips their attention, norms and NextN projection;
    the Q/K norms, gate and FFN there are merely 'not required', so they load)."""
    header = read_header(arch_dir / f"{name}.gguf")
    shape = shape_from_header(header)
    contexts = (LlamaSettings(n_ctx=32768, swa_full=False),
                LlamaSettings(n_ctx=131072, flash_attn=True, swa_full=False, type_k="q8_0",
                              type_v="q8_0"))
    for probe in run_probe(ProbeRequest(str(arch_dir / f"{name}.gguf"), contexts=contexts)):
        assert probe.ok, probe.error
        assert shape.nextn_weight_bytes == probe.log.unused_tensor_bytes
        settings = LlamaSettings(n_ctx=probe.settings.n_ctx, flash_attn=probe.settings.flash_attn,
                                 swa_full=False, type_k=probe.settings.type_k,
                                 type_v=probe.settings.type_v)
        plan = plan_memory(shape, settings, Machine(cpu_free_bytes=None))
        rows = {row.kind: row for row in compare(plan, probe.log, dry_run=True)}
        assert rows["kv_cache"].within_rounding, rows["kv_cache"]
        note = next((note for note in plan.notes if "compute buffer estimated" in note), "")
        if name in REPLAYED:  # the allocator replayed, exact
            assert not note and rows["compute"].within_rounding, rows["compute"]
            continue
        assert inside_stated_range(note, rows["compute"].error_percent), (rows["compute"], note)
    mtp_loaded = sum(shape.layer_weight_bytes[shape.n_layer_main:])
    assert (mtp_loaded > 0) is (name == "step-3.5-flash")


def test_mimo2_fused_qkv_replays_as_llama_cpp(tmp_path: Path) -> None:
    """MiMo-V2.5's files hold Q, K and V as one attn_qkv tensor (MiMo-V2-Flash's apart):
    one matmul and strided views, V made contiguous for a transposed or rotated cache;
    still replayed, to llama.cpp's rounding."""
    model = replace(ARCH_SHAPES["mimo-v2-flash"], fused_qkv=True)
    path = write_arch_model(model, tmp_path / "mimo-fused.gguf")
    shape = shape_from_header(read_header(path))
    assert shape.fused_qkv and shape.attn_value_scale
    _replayed_exactly(path, shape, GRID)


# A row's architecture table, as the catalog states it: a period for the sliding window, the
# full layers' heads (and the sliding layers' KV heads where they differ)
_ROW_FACTS = {
    # Step 3.5 Flash: llama.cpp reads the GGUF's explicit pattern (full attention first, then
    # three sliding blocks); the catalog's period of 4 is taken the same way
    "step-3.5-flash": dict(
        architecture="step35", n_layer=45, n_embd=4096, n_head=64, n_head_kv=8, n_vocab=128896,
        n_ctx_train=262144, key_length=128, value_length=128, n_ff=11264, sliding_window=512,
        sliding_window_pattern=4, n_expert=288, n_expert_used=8,
        layout=Layout(n_ff_expert=1280, n_ff_shared=1280, n_layer_dense_lead=3,
                      n_layer_nextn=3)),
    # MiMo-V2-Flash / V2.5: five sliding blocks then a full one, the first block full too
    # (hybrid_layer_pattern: 9 full blocks of 48), 8 KV heads sliding and 4 full
    "mimo-v2-flash": dict(
        architecture="mimo2", n_layer=48, n_embd=4096, n_head=64, n_head_kv=4, n_vocab=152576,
        n_ctx_train=262144, key_length=192, value_length=128, n_ff=16384, sliding_window=128,
        sliding_window_pattern=6, n_expert=256, n_expert_used=8,
        layout=Layout(n_ff_expert=2048, n_layer_dense_lead=1, n_layer_nextn=3,
                      n_head_kv_swa=8)),
}


@pytest.mark.parametrize("name", sorted(_ROW_FACTS))
def test_row_facts_with_a_window_period_plan_the_caches_as_the_header_does(
        arch_dir: Path, name: str) -> None:
    """step35 / mimo2 rows state a period where their GGUFs hold an explicit pattern: the
    same blocks slide, and the KV cache (MTP blocks holding none) comes out the same."""
    exact = shape_from_header(read_header(arch_dir / f"{name}.gguf"))
    facts = shape_from_facts(file_size_bytes=exact.file_size_bytes, **_ROW_FACTS[name])
    assert facts.swa_layers == exact.swa_layers and not facts.swa_layers[0]
    for settings in (LlamaSettings(n_ctx=32768), LlamaSettings(n_ctx=131072, swa_full=False)):
        plans = [plan_memory(shape, settings, Machine(cpu_free_bytes=None))
                 for shape in (exact, facts)]
        assert plans[1].total("kv_cache_bytes") == plans[0].total("kv_cache_bytes")
    if name == "mimo-v2-flash":
        assert [il for il in range(48) if not facts.swa_layers[il]] == [0, 5, 11, 17, 23, 29,
                                                                        35, 41, 47]


def test_runtime_carries_n_batch_and_clamps_n_ubatch_as_llama_cpp_does(tmp_path: Path) -> None:
    from picker.hardware.probe import probe_hardware
    from picker.runtime.plan import plan_run

    spec = SyntheticModel("small", n_layer=2, n_embd=256, n_vocab=8192)
    path = write_model(spec, tmp_path / "small.gguf", sparse=True)
    snapshot = probe_hardware()
    clamped = plan_run(path, snapshot, LlamaSettings(n_ubatch=2048, n_gpu_layers=0),
                       context=4096, allow_overcommit=True)
    assert (clamped.settings.n_batch, clamped.settings.n_ubatch) == (512, 512)
    assert any("clamps --n-ubatch 2048 to n_batch 512" in w for w in clamped.warnings)
    raised = plan_run(path, snapshot, LlamaSettings(n_ubatch=2048, n_batch=2048, n_gpu_layers=0),
                      context=4096, allow_overcommit=True)
    assert (raised.settings.n_batch, raised.settings.n_ubatch) == (2048, 2048)
    assert not raised.warnings
    assert raised.memory_plan is not None and clamped.memory_plan is not None
    assert (raised.memory_plan.total("compute_bytes")
            > clamped.memory_plan.total("compute_bytes"))
    short = plan_run(path, snapshot, LlamaSettings(n_batch=2048, n_gpu_layers=0),
                     context=1024, allow_overcommit=True)
    assert short.settings.n_batch == 1024  # n_batch is at most the context, as llama.cpp has it
    refused = run_picker("smoke", str(path), "--n-batch", "0")
    assert refused.returncode == 2 and "--n-batch" in refused.stderr


def test_mtp_blocks_and_server_checkpoints_are_named(arch_dir: Path) -> None:
    glm = run_picker("fit", str(arch_dir / "glm-4.5-air.gguf"), "--ctx", "8192", "--json")
    assert glm.returncode == 0, glm.stderr
    (mtp,) = [note for note in glm.json()["notes"] if "multi-token-prediction" in note]
    assert "1 multi-token-prediction (MTP) block(s) (2.2 GiB of weights)" in mtp
    shape = shape_from_header(read_header(arch_dir / "qwen3.5-27b.gguf"))
    plan = plan_memory(shape, LlamaSettings(n_ctx=8192), Machine(cpu_free_bytes=None))
    (checkpoints,) = [note for note in plan.notes if "context checkpoints" in note]
    per_sequence = 48 * (3 * (2 * 16 * 128 + 6144) + 128 * 6144) * 4  # conv + delta-net state
    assert plan.recurrent_bytes == per_sequence
    assert f"({per_sequence / MIB:.1f} MiB each)" in checkpoints
    assert "up to 32 per slot" in checkpoints
    dense = plan_memory(shape_from_header(read_header(arch_dir / "glm-4.5-air.gguf")),
                        LlamaSettings(n_ctx=8192), Machine(cpu_free_bytes=None))
    assert not [note for note in dense.notes if "context checkpoints" in note]


def test_n_ubatch_is_clamped_to_n_batch_as_llama_cpp_does(tmp_path: Path) -> None:
    spec = SyntheticModel("small", n_layer=2, n_embd=256, n_vocab=8192)
    path = write_model(spec, tmp_path / "small.gguf", sparse=True)
    clamped = run_picker("fit", str(path), "--ctx", "4096", "--n-ubatch", "2048", "--json")
    raised = run_picker("fit", str(path), "--ctx", "4096", "--n-ubatch", "2048",
                        "--n-batch", "2048", "--json")
    assert clamped.returncode == 0 and raised.returncode == 0, clamped.stderr + raised.stderr
    assert clamped.json()["settings"]["effective"]["n_ubatch"] == 512
    assert raised.json()["settings"]["effective"]["n_ubatch"] == 2048
    assert clamped.json()["memory"]["compute_bytes"] < raised.json()["memory"]["compute_bytes"]
    text = run_picker("fit", str(path), "--ctx", "4096", "--n-ubatch", "2048").stdout
    assert "clamps --n-ubatch 2048 to n_batch 512" in text


def test_an_architecture_llama_cpp_cannot_load_is_said_and_refused(tmp_path: Path) -> None:
    import gguf

    from picker.hardware.probe import probe_hardware
    from picker.runtime.plan import plan_run

    path = tmp_path / "future.gguf"
    writer = gguf.GGUFWriter(str(path), "qwen9")
    writer.add_block_count(2)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_tensor("token_embd.weight", __import__("numpy").zeros((32, 64), "float32"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    fitted = run_picker("fit", str(path), "--json")
    assert fitted.returncode == 0, fitted.stderr
    (note,) = [n for n in fitted.json()["notes"] if "unknown to the llama.cpp" in n]
    assert "'qwen9'" in note
    with pytest.raises(UsageError, match="architecture 'qwen9' is unknown"):
        plan_run(path, probe_hardware(), LlamaSettings(n_gpu_layers=None))
    smoke = run_picker("smoke", str(path), "--yes")
    assert smoke.returncode != 0
    assert "architecture 'qwen9' is unknown" in smoke.stderr
    assert "Traceback" not in smoke.stderr and "llama_model_load" not in smoke.stderr
