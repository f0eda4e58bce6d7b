"""The validator rejects bad catalog files with messages that name the file and entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from picker.catalog import CatalogError, load_catalog_from, shipped_data_dir

GOOD_MODEL = """
[[models]]
id = "tiny-model"
name = "Tiny Model"
publisher = "Test"
hf_repo = "test/tiny-model"
released = 2025-01-01
parameters_b = 8.0
capabilities = ["instruct"]
benchmarks = [
  { name = "mmlu", score = 60.0, source = "seed", setting = "5-shot" },
]
[models.architecture]
arch = "llama"
layers = 32
hidden_size = 4096
heads = 32
kv_heads = 8
key_length = 128
value_length = 128
vocab_size = 128256
context_length = 8192
tied_embeddings = false
source = "hf-config"
[models.license]
name = "Apache-2.0"
commercial = true
gated = false
[models.gguf]
repo = "test/tiny-model-GGUF"
quantizer = "test"
file_pattern = "tiny-{quant}.gguf"
estimated = ["Q4_K_M"]
files = [
  { quant = "Q8_0", file = "tiny-Q8_0.gguf", size_bytes = 8500000000, source = "seed" },
]
"""


def make_catalog(tmp_path: Path, family_text: str, name: str = "test.toml") -> Path:
    """A catalog folder with the shipped sources and quant types plus one family file."""
    folder = tmp_path / "catalog"
    folder.mkdir(parents=True)
    shipped = shipped_data_dir()
    for special in ("sources.toml", "quant_types.toml"):
        (folder / special).write_text(shipped.joinpath(special).read_text(encoding="utf-8"))
    (folder / name).write_text('family = "test"\ntitle = "Test"\n' + family_text)
    return folder


def problems_for(tmp_path: Path, family_text: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog_from(make_catalog(tmp_path, family_text))
    return caught.value.problems


def test_good_entry_loads_with_estimated_and_exact_sizes(tmp_path: Path) -> None:
    catalog = load_catalog_from(make_catalog(tmp_path, GOOD_MODEL))
    model = catalog.models[0]
    assert model.id == "tiny-model" and model.family == "test"
    exact = model.quantization("Q8_0")
    estimated = model.quantization("Q4_K_M")
    assert exact is not None and not exact.size_estimated and exact.size_bytes == 8_500_000_000
    assert estimated is not None and estimated.size_estimated
    bpw = catalog.quant_types["Q4_K_M"].file_bits_per_weight
    assert estimated.size_bytes == int(8.0e9 * bpw / 8)
    assert estimated.files == ("tiny-Q4_K_M.gguf",)


def test_unknown_key_names_file_entry_and_key(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace("layers = 32", "layers = 32\nlayerz = 3")
    problems = problems_for(tmp_path, text)
    assert any("test.toml" in p and "'tiny-model'" in p and "'layerz'" in p for p in problems)


def test_wrong_type_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_MODEL.replace("heads = 32", 'heads = "32"'))
    assert any("'heads' must be whole number" in p and "tiny-model" in p for p in problems)


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_MODEL + GOOD_MODEL)
    assert any("duplicate id 'tiny-model'" in p for p in problems)


def test_duplicate_of_a_shipped_id_is_reported(tmp_path: Path) -> None:
    folder = make_catalog(tmp_path, GOOD_MODEL.replace('"tiny-model"', '"llama-3.1-8b-instruct"'))
    shutil.copy(Path(str(shipped_data_dir().joinpath("llama.toml"))), folder / "llama.toml")
    with pytest.raises(CatalogError) as caught:
        load_catalog_from(folder)
    assert any("duplicate id 'llama-3.1-8b-instruct'" in p for p in caught.value.problems)


def test_benchmark_without_source_is_reported(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace(', source = "seed", setting = "5-shot"', "")
    problems = problems_for(tmp_path, text)
    assert any("benchmark 'mmlu'" in p and "without a source" in p for p in problems)


def test_benchmark_source_must_be_known_or_a_url(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace('source = "seed", setting', 'source = "blog", setting')
    problems = problems_for(tmp_path, text)
    assert any("source 'blog'" in p for p in problems)


def test_score_out_of_range_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_MODEL.replace("score = 60.0", "score = 160.0"))
    assert any("outside 0.0-100.0" in p for p in problems)


def test_2025_benchmarks_load_with_their_setting_and_keep_their_range(tmp_path: Path) -> None:
    row = '  { name = "mmlu_pro", score = 71.5, source = "seed", setting = "instruct, 0-shot CoT" },\n'
    text = GOOD_MODEL.replace("benchmarks = [\n", "benchmarks = [\n" + row)
    model = load_catalog_from(make_catalog(tmp_path, text)).models[0]
    pro = model.benchmark("mmlu_pro")
    assert pro is not None and pro.score == 71.5 and pro.setting == "instruct, 0-shot CoT"
    problems = problems_for(tmp_path / "bad", text.replace("score = 71.5", "score = 171.5"))
    assert any("benchmark 'mmlu_pro'" in p and "outside 0.0-100.0" in p for p in problems)
    problems = problems_for(tmp_path / "unknown", text.replace('"mmlu_pro"', '"mmlu_pro_max"'))
    assert any("unknown benchmark" in p and "swe_bench_verified" in p for p in problems)


@pytest.mark.parametrize(("name", "score", "setting", "label"), [
    ("swe_bench_pro", 56.22, "SWE-Bench Pro, agent harness not named, thinking",
     "SWE-Bench Pro, the source document's approximate figure"),
    # LLaVA-1.5's paper reports only vision-language tests: MM-Vet is how it carries a score.
    ("mm_vet", 31.1, "MM-Vet, GPT-4-graded score", "MM-Vet, the source document's approximate figure"),
])
def test_newer_benchmarks_are_their_own_tests_with_their_range(
        tmp_path: Path, name: str, score: float, setting: str, label: str) -> None:
    from picker.rank.comparable import score_group

    row = f'  {{ name = "{name}", score = {score}, source = "seed", setting = "{setting}" }},\n'
    text = GOOD_MODEL.replace("benchmarks = [\n", "benchmarks = [\n" + row)
    read = load_catalog_from(make_catalog(tmp_path, text)).models[0].benchmark(name)
    assert read is not None and read.score == score
    assert score_group(read).label == label
    problems = problems_for(tmp_path / "bad", text.replace(f"score = {score}", f"score = {score + 100}"))
    assert any(f"benchmark '{name}'" in p and "outside 0.0-100.0" in p for p in problems)


def test_size_inconsistent_with_parameters_is_reported(tmp_path: Path) -> None:
    # 8B parameters at Q8_0 cannot fit in 1.7 GB: a 5x wrong parameter count looks like this.
    text = GOOD_MODEL.replace("size_bytes = 8500000000", "size_bytes = 1700000000")
    problems = problems_for(tmp_path, text)
    assert any("quantization 'Q8_0'" in p and "inconsistent" in p for p in problems)


def test_context_beyond_the_architecture_is_reported(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace(
        "context_length = 8192", "context_length = 8192\nmax_context_length = 65536")
    problems = problems_for(tmp_path, text)
    assert any("exceeds the trained context" in p and "tiny-model" in p for p in problems)
    with_scaling = text.replace(
        "max_context_length = 65536", 'max_context_length = 65536\nrope_scaling = "yarn"')
    catalog = load_catalog_from(make_catalog(tmp_path / "ok", with_scaling))
    assert catalog.models[0].architecture.max_context_length == 65536


def test_impossible_attention_layout_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_MODEL.replace("kv_heads = 8", "kv_heads = 7"))
    assert any("not a multiple of kv_heads" in p for p in problems)
    problems = problems_for(tmp_path / "swa", GOOD_MODEL.replace(
        "kv_heads = 8", "kv_heads = 8\nsliding_kv_heads = 12"))
    assert any("not a multiple of sliding_kv_heads 12" in p for p in problems)


def test_sliding_kv_heads_reach_the_plan_made_from_catalog_facts() -> None:
    """Gemma 4 31B: 16 KV heads on each sliding layer, 4 on each global one, as llama.cpp
    reads them from a GGUF's per-layer head_count_kv (one kv_heads would be wrong)."""
    from picker.catalog import load_catalog
    from picker.catalog.hooks import shape_from_catalog

    model = load_catalog().model("gemma-4-31b-it")
    assert model is not None
    arch = model.architecture
    shape = shape_from_catalog(model, model.quantizations[0], arch.context_length)
    assert (arch.kv_heads, arch.sliding_kv_heads) == (4, 16)
    assert shape.n_head_kv == tuple(4 if il % 6 == 5 else 16 for il in range(60))
    assert [layer[1:] for layer in shape.attention_layers[4:6]] == [(16, 256, 256, True),
                                                                    (4, 512, 512, False)]


def test_unknown_quant_type_and_bad_hash_are_reported(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace('estimated = ["Q4_K_M"]', 'estimated = ["Q4_K_XXL"]').replace(
        'source = "seed" }', 'sha256 = "abc", source = "seed" }')
    problems = problems_for(tmp_path, text)
    assert any("'Q4_K_XXL'" in p for p in problems)
    assert any("not 64 lowercase hex" in p for p in problems)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_MODEL + "\n[[models]\n")
    assert any(p.startswith("test.toml: not valid TOML") for p in problems)


def test_error_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog_from(make_catalog(tmp_path, GOOD_MODEL.replace("heads = 32", "heads = 0")))
    assert "\n" not in caught.value.message
    assert caught.value.message.startswith("invalid catalog: test.toml: model 'tiny-model'")


@pytest.mark.parametrize("line", [
    line for line in GOOD_MODEL.splitlines()
    if " = " in line and not line.startswith(("[", " ", "{")) and not line.endswith("[")
])
def test_a_wrongly_typed_value_is_a_located_error_never_a_crash(tmp_path: Path, line: str) -> None:
    # Every top-level, architecture, license and gguf key: a table where a value belongs.
    key = line.split(" = ")[0]
    broken = GOOD_MODEL.replace(line, f"{key} = {{ oops = 1 }}", 1)
    with pytest.raises(CatalogError) as raised:
        load_catalog_from(make_catalog(tmp_path, broken))
    assert "tiny-model" in str(raised.value) or "test.toml" in str(raised.value)
    assert repr(key) in str(raised.value)
