"""Turn checked TOML tables into catalog values, collecting every problem found.

The rules here are the catalog's contract (catalog/README.md): unknown keys,
wrong types, missing sources, impossible architectures and sizes that do not
match parameters x bits per weight are all reported with file and entry.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from picker.catalog.schema import Field, Problems, check, has_required, opt, req
from picker.catalog.types import (
    BENCHMARK_RANGES,
    CAPABILITIES,
    Architecture,
    BenchmarkScore,
    ClosedModel,
    GgufSource,
    License,
    Model,
    Quantization,
    QuantType,
    Source,
)
from picker.safenames import is_safe_repo_path

# An exact file size must lie within this factor range of params x bits per weight
# (the whole-file figure measured on the reference model). Small models with big
# vocabularies sit near the top of it; a wrong parameter count (5x) falls far outside.
SIZE_TOLERANCE: tuple[float, float] = (0.6, 1.6)
# Hugging Face stores at most 50 GB per file; quantizers split bigger quantizations.
SPLIT_ABOVE_BYTES = 48_000_000_000
# Sizes measured from the files themselves (user additions) skip the tolerance check,
# which exists to catch typing mistakes in curated data.
MEASURED_SOURCES = frozenset({"local-gguf", "hf-gguf", "hub-refresh"})

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

BENCHMARK_SPEC: dict[str, Field] = {
    "name": req(str), "score": req(float), "source": req(str),
    "setting": opt(str), "note": opt(str),
}
# Architecture facts of the 2026 layouts (hybrids, MTP, shared KV, expert widths): whole
# numbers, 0 when the model has no such part; catalog/README.md says what each means.
LAYOUT_FIELDS = (
    "expert_intermediate_size", "shared_expert_intermediate_size", "dense_lead_layers",
    "nextn_layers", "full_attention_interval", "linear_conv_kernel", "linear_key_heads",
    "linear_value_heads", "linear_key_head_dim", "linear_value_head_dim", "shared_kv_layers",
    "per_layer_input_size", "sliding_head_dim", "sliding_kv_heads", "indexer_key_length",
    "indexer_top_k", "full_attention_last_layer", "csa_layers", "hca_layers",
    "attention_layers", "mamba_layers",
)
ARCH_SPEC: dict[str, Field] = {
    "arch": req(str), "layers": req(int), "hidden_size": req(int), "heads": req(int),
    "kv_heads": req(int), "key_length": req(int), "value_length": req(int),
    "vocab_size": req(int), "context_length": req(int), "max_context_length": opt(int),
    "rope_scaling": opt(str), "sliding_window": opt(int), "sliding_window_pattern": opt(int),
    "experts": opt(int), "experts_used": opt(int), "shared_experts": opt(int),
    "tied_embeddings": req(bool), "intermediate_size": opt(int), "kv_lora_rank": opt(int),
    "rope_head_dim": opt(int), "source": req(str),
    **{name: opt(int) for name in LAYOUT_FIELDS},
}
LICENSE_SPEC: dict[str, Field] = {
    "name": req(str), "commercial": req(bool), "gated": req(bool), "url": opt(str),
    "note": opt(str),
}
FILE_SPEC: dict[str, Field] = {
    "quant": req(str), "file": opt(str), "parts": opt(list, str), "size_bytes": opt(int),
    "sha256": opt((str, list)), "source": opt(str),
}
GGUF_SPEC: dict[str, Field] = {
    "repo": req(str), "quantizer": req(str), "file_pattern": opt(str),
    "estimated": opt(list, str), "files": opt(list, dict),
}
MODEL_SPEC: dict[str, Field] = {
    "id": req(str), "name": req(str), "publisher": req(str), "hf_repo": req(str),
    "released": req(dt.date), "parameters_b": req(float), "active_parameters_b": opt(float),
    "capabilities": req(list, str), "languages": opt(list, str), "notes": opt(str),
    "llama_cpp_supported": opt(bool), "vision_projector": opt(str),
    "vision_projector_bytes": opt(int), "vision_projector_source": opt(str),
    "benchmarks": opt(list, dict), "architecture": req(dict), "license": req(dict),
    "gguf": opt(dict),
}
CLOSED_SPEC: dict[str, Field] = {
    "id": req(str), "name": req(str), "vendor": req(str), "released": req(dt.date),
    "input_usd_per_mtok": req(float), "output_usd_per_mtok": req(float),
    "price_source": req(str), "notes": opt(str), "benchmarks": opt(list, dict),
}
QUANT_TYPE_SPEC: dict[str, Field] = {
    "name": req(str), "file_bits_per_weight": req(float), "ppl_delta": opt(float),
    "kld": opt(float), "reference_model": req(str), "source": req(str), "note": opt(str),
}
SOURCE_SPEC: dict[str, Field] = {"title": req(str), "url": opt(str)}


def build_sources(doc: object, where: str, problems: Problems) -> dict[str, Source]:
    top = check(doc, {"sources": req(dict)}, where, problems)
    sources: dict[str, Source] = {}
    for key, table in top.get("sources", {}).items():
        entry = check(table, SOURCE_SPEC, f"{where}: source {key!r}", problems)
        if entry:
            sources[key] = Source(key, entry.get("title", ""), entry.get("url", ""))
    return sources


def build_quant_types(
    doc: object, where: str, sources: dict[str, Source], problems: Problems
) -> dict[str, QuantType]:
    top = check(doc, {"quant_types": req(list, dict)}, where, problems)
    types: dict[str, QuantType] = {}
    for table in top.get("quant_types", []):
        name = str(table.get("name", "?"))
        here = f"{where}: quant type {name!r}"
        e = check(table, QUANT_TYPE_SPEC, here, problems)
        if not has_required(e, QUANT_TYPE_SPEC):
            continue
        if name in types:
            problems.add(here, "duplicate quant type")
        _check_source(e["source"], sources, here, problems)
        if not 1.0 <= e["file_bits_per_weight"] <= 33.0:
            problems.add(here, f"file_bits_per_weight {e['file_bits_per_weight']} is implausible")
        types[name] = QuantType(
            name, float(e["file_bits_per_weight"]), _float_or_none(e.get("ppl_delta")),
            _float_or_none(e.get("kld")), e["reference_model"], e["source"], e.get("note", ""),
        )
    return types


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _check_source(source: str, sources: dict[str, Source], where: str, problems: Problems) -> None:
    if source not in sources and not source.startswith("https://"):
        problems.add(where, f"source {source!r} is neither a key of sources.toml nor an https URL")


def build_benchmarks(
    raw: list[object], where: str, sources: dict[str, Source], problems: Problems
) -> tuple[BenchmarkScore, ...]:
    scores: list[BenchmarkScore] = []
    for table in raw:
        name = str(table.get("name", "?")) if isinstance(table, dict) else "?"
        here = f"{where}: benchmark {name!r}"
        if isinstance(table, dict) and not table.get("source"):
            problems.add(here, "benchmark without a source (cite a model card, paper or leaderboard)")
        e = check(table, BENCHMARK_SPEC, here, problems)
        if not has_required(e, BENCHMARK_SPEC):
            continue
        if name not in BENCHMARK_RANGES:
            problems.add(here, f"unknown benchmark (known: {', '.join(BENCHMARK_RANGES)})")
            continue
        low, high = BENCHMARK_RANGES[name]
        if not low <= e["score"] <= high:
            problems.add(here, f"score {e['score']} outside {low}-{high}")
        _check_source(e["source"], sources, here, problems)
        scores.append(
            BenchmarkScore(name, float(e["score"]), e["source"], e.get("setting", ""),
                           e.get("note", ""))
        )
    return tuple(scores)


def build_architecture(table: object, where: str, problems: Problems) -> Architecture | None:
    here = f"{where}: architecture"
    e = check(table, ARCH_SPEC, here, problems)
    if not has_required(e, ARCH_SPEC):
        return None
    positive = ("layers", "hidden_size", "heads", "kv_heads", "key_length", "value_length",
                "vocab_size", "context_length")
    for key in positive:
        if e[key] <= 0:
            problems.add(here, f"{key!r} must be greater than zero")
            return None
    context = e["context_length"]
    max_context = e.get("max_context_length", context)
    if max_context < context:
        problems.add(here, f"max_context_length {max_context} is below context_length {context}")
    if max_context > context and not e.get("rope_scaling"):
        problems.add(here, f"max_context_length {max_context} exceeds the trained context "
                     f"{context} but no rope_scaling is given")
    if e["heads"] % e["kv_heads"]:
        problems.add(here, f"heads {e['heads']} is not a multiple of kv_heads {e['kv_heads']}")
    sliding_kv = e.get("sliding_kv_heads", 0)
    if sliding_kv > 0 and e["heads"] % sliding_kv:
        problems.add(here, f"heads {e['heads']} is not a multiple of sliding_kv_heads {sliding_kv}")
    window, pattern = e.get("sliding_window", 0), e.get("sliding_window_pattern", 0)
    if window < 0 or window >= max_context:
        problems.add(here, f"sliding_window {window} must be between 0 and the context length")
    if pattern and not window:
        problems.add(here, "sliding_window_pattern given without sliding_window")
    experts, used = e.get("experts", 0), e.get("experts_used", 0)
    if bool(experts) != bool(used) or used > experts:
        problems.add(here, f"experts_used {used} does not fit experts {experts}")
    for name in LAYOUT_FIELDS:
        if e.get(name, 0) < 0:
            problems.add(here, f"{name} {e[name]} must be 0 or more")
    if e.get("shared_kv_layers", 0) >= e["layers"]:
        problems.add(here, f"shared_kv_layers {e['shared_kv_layers']} leaves no layer its own "
                     f"KV cache of {e['layers']}")
    return Architecture(
        arch=e["arch"], layers=e["layers"], hidden_size=e["hidden_size"], heads=e["heads"],
        kv_heads=e["kv_heads"], key_length=e["key_length"], value_length=e["value_length"],
        vocab_size=e["vocab_size"], context_length=context, max_context_length=max_context,
        rope_scaling=e.get("rope_scaling"), sliding_window=window,
        sliding_window_pattern=pattern, experts=experts, experts_used=used,
        shared_experts=e.get("shared_experts", 0), tied_embeddings=e["tied_embeddings"],
        intermediate_size=e.get("intermediate_size"), kv_lora_rank=e.get("kv_lora_rank"),
        rope_head_dim=e.get("rope_head_dim"), source=e["source"],
        **{name: e.get(name, 0) for name in LAYOUT_FIELDS},
    )


def estimate_size_bytes(parameters: int, quant: QuantType) -> int:
    """Params x the whole-file bits per weight measured for this quant type."""
    return int(parameters * quant.file_bits_per_weight / 8)


def _build_file(
    table: object, where: str, parameters: int, types: dict[str, QuantType],
    sources: dict[str, Source], problems: Problems, local: bool = False,
) -> Quantization | None:
    """One quantization's files; Hub file names must be safe relative paths (`local`: any path)."""
    quant = str(table.get("quant", "?")) if isinstance(table, dict) else "?"
    here = f"{where}: quantization {quant!r}"
    e = check(table, FILE_SPEC, here, problems)
    if "quant" not in e:
        return None
    if quant not in types:
        problems.add(here, f"unknown quant type (known: {', '.join(types)})")
        return None
    files = ([e["file"]] if "file" in e else []) + list(e.get("parts", []))
    if "file" in e and "parts" in e:
        problems.add(here, "give either 'file' or 'parts', not both")
    for name in files:
        if not name.lower().endswith(".gguf"):
            problems.add(here, f"file {name!r} is not a .gguf file")
        elif not local and not is_safe_repo_path(name):
            problems.add(here, f"file {name!r} is not a plain relative path in its repository")
    raw_sha = e.get("sha256", [])
    hashes = [raw_sha] if isinstance(raw_sha, str) else list(raw_sha)
    for digest in hashes:
        if not isinstance(digest, str) or not _SHA_RE.match(digest):
            problems.add(here, f"sha256 {digest!r} is not 64 lowercase hex digits")
    if hashes and len(hashes) != len(files):
        problems.add(here, f"{len(hashes)} sha256 values for {len(files)} files")
    if "source" in e:
        _check_source(e["source"], sources, here, problems)
    expected = estimate_size_bytes(parameters, types[quant])
    size = e.get("size_bytes")
    if size is not None:
        if "source" not in e:
            problems.add(here, "an exact size_bytes needs a source")
        low, high = SIZE_TOLERANCE
        measured = e.get("source") in MEASURED_SOURCES
        if not measured and not low * expected <= size <= high * expected:
            problems.add(here, f"size_bytes {size} is inconsistent with {parameters:,} parameters "
                         f"x {types[quant].file_bits_per_weight} bits per weight "
                         f"(expected about {expected:,})")
    return Quantization(quant, tuple(files), size if size is not None else expected,
                        size is None, tuple(hashes), e.get("source", ""))


def build_gguf(
    table: object, where: str, parameters: int, types: dict[str, QuantType],
    sources: dict[str, Source], problems: Problems,
) -> tuple[GgufSource | None, tuple[Quantization, ...]]:
    here = f"{where}: gguf"
    e = check(table, GGUF_SPEC, here, problems)
    if "repo" not in e or "quantizer" not in e:
        return None, ()
    if not _REPO_RE.match(e["repo"]):
        problems.add(here, f"repo {e['repo']!r} is not OWNER/NAME")
    quants: list[Quantization] = []
    local = e["quantizer"] == "local"  # `picker catalog add FILE.gguf`: paths on this machine
    for file_table in e.get("files", []):
        q = _build_file(file_table, here, parameters, types, sources, problems, local)
        if q is not None:
            quants.append(q)
    pattern = e.get("file_pattern", "")
    if pattern and not is_safe_repo_path(pattern):
        problems.add(here, f"file_pattern {pattern!r} is not a plain relative path in its repository")
    if e.get("estimated") and "{quant}" not in pattern:
        problems.add(here, "'estimated' quantizations need a file_pattern containing {quant}")
    for quant in e.get("estimated", []):
        if quant not in types:
            problems.add(here, f"estimated quantization {quant!r}: unknown quant type")
            continue
        size = estimate_size_bytes(parameters, types[quant])
        files = (pattern.replace("{quant}", quant),) if size <= SPLIT_ABOVE_BYTES else ()
        quants.append(Quantization(quant, files, size, True))
    seen: set[str] = set()
    for q in quants:
        if q.type in seen:
            problems.add(here, f"quantization {q.type!r} listed twice")
        seen.add(q.type)
    order = {name: index for index, name in enumerate(types)}
    quants.sort(key=lambda q: order[q.type])
    return GgufSource(e["repo"], e["quantizer"]), tuple(quants)


def build_model(
    table: object, family: str, where: str, types: dict[str, QuantType],
    sources: dict[str, Source], problems: Problems,
) -> Model | None:
    model_id = str(table.get("id", "?")) if isinstance(table, dict) else "?"
    here = f"{where}: model {model_id!r}"
    e = check(table, MODEL_SPEC, here, problems)
    if not has_required(e, MODEL_SPEC):
        return None
    if not _ID_RE.match(model_id):
        problems.add(here, "id must be lowercase letters, digits, '.', '_' or '-'")
    if not _REPO_RE.match(e["hf_repo"]):
        problems.add(here, f"hf_repo {e['hf_repo']!r} is not OWNER/NAME")
    unknown = sorted(set(e["capabilities"]) - CAPABILITIES)
    if unknown:
        problems.add(here, f"unknown capabilities {unknown} (known: {sorted(CAPABILITIES)})")
    parameters = int(e["parameters_b"] * 1e9)
    active = int(e.get("active_parameters_b", e["parameters_b"]) * 1e9)
    architecture = build_architecture(e["architecture"], here, problems)
    lic = check(e["license"], LICENSE_SPEC, f"{here}: license", problems)
    if architecture is None or not has_required(lic, LICENSE_SPEC):
        return None
    if architecture.experts and "active_parameters_b" not in e:
        problems.add(here, "a mixture of experts needs active_parameters_b")
    if active > parameters:
        problems.add(here, "active_parameters_b exceeds parameters_b")
    gguf: GgufSource | None = None
    quants: tuple[Quantization, ...] = ()
    if "gguf" in e:
        gguf, quants = build_gguf(e["gguf"], here, parameters, types, sources, problems)
    from picker.memory.architectures import unsupported_reason

    supported = e.get("llama_cpp_supported", True)
    unknown_arch = unsupported_reason(architecture.arch)
    if supported and unknown_arch:
        problems.add(here, f"{unknown_arch}; set llama_cpp_supported = false")
    if supported and not quants:
        problems.add(here, "a model llama.cpp can run needs a gguf table with quantizations")
    _check_projector(e, here, sources, problems)
    return Model(
        id=model_id, name=e["name"], family=family, publisher=e["publisher"],
        hf_repo=e["hf_repo"], released=e["released"].isoformat(), parameters=parameters,
        active_parameters=active, architecture=architecture,
        capabilities=frozenset(e["capabilities"]), languages=tuple(e.get("languages", ())),
        license=License(lic["name"], lic["commercial"], lic["gated"], lic.get("url", ""),
                        lic.get("note", "")),
        gguf=gguf, quantizations=quants,
        benchmarks=build_benchmarks(e.get("benchmarks", []), here, sources, problems),
        source_file=where, notes=e.get("notes", ""), llama_cpp_supported=supported,
        vision_projector=e.get("vision_projector", ""),
        vision_projector_bytes=e.get("vision_projector_bytes", 0),
    )


def _check_projector(e: dict[str, Any], where: str, sources: dict[str, Source],
                     problems: Problems) -> None:
    """A projector's size comes with the file it sizes and the source that gives it."""
    if "vision_projector_bytes" not in e:
        if "vision_projector_source" in e:
            problems.add(where, "vision_projector_source without vision_projector_bytes")
        return
    if not e.get("vision_projector"):
        problems.add(where, "vision_projector_bytes needs the vision_projector file it sizes")
    if e["vision_projector_bytes"] <= 0:
        problems.add(where, "vision_projector_bytes must be more than 0")
    if "vision_projector_source" not in e:
        problems.add(where, "vision_projector_bytes needs a vision_projector_source")
    else:
        _check_source(e["vision_projector_source"], sources, f"{where}: vision projector",
                      problems)


def build_closed(
    table: object, where: str, sources: dict[str, Source], problems: Problems
) -> ClosedModel | None:
    model_id = str(table.get("id", "?")) if isinstance(table, dict) else "?"
    here = f"{where}: closed model {model_id!r}"
    e = check(table, CLOSED_SPEC, here, problems)
    if not has_required(e, CLOSED_SPEC):
        return None
    _check_source(e["price_source"], sources, here, problems)
    return ClosedModel(
        id=model_id, name=e["name"], vendor=e["vendor"], released=e["released"].isoformat(),
        benchmarks=build_benchmarks(e.get("benchmarks", []), here, sources, problems),
        input_usd_per_mtok=float(e["input_usd_per_mtok"]),
        output_usd_per_mtok=float(e["output_usd_per_mtok"]),
        price_source=e["price_source"], source_file=where, notes=e.get("notes", ""),
    )
