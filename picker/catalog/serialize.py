"""Catalog values as JSON documents (sizes in bytes, keys ending in `_bytes`)."""

from __future__ import annotations

from picker.catalog.types import (
    BenchmarkScore,
    Catalog,
    ClosedModel,
    Model,
    Quantization,
    QuantType,
)


def benchmark_dict(score: BenchmarkScore) -> dict[str, object]:
    return score._asdict()


def quantization_dict(quant: Quantization, quant_type: QuantType | None) -> dict[str, object]:
    return {
        "type": quant.type,
        "files": list(quant.files),
        "size_bytes": quant.size_bytes,
        "size_estimated": quant.size_estimated,
        "sha256": list(quant.sha256),
        "source": quant.source,
        "ppl_delta": quant_type.ppl_delta if quant_type else None,
        "kld": quant_type.kld if quant_type else None,
    }


def model_summary(model: Model) -> dict[str, object]:
    sizes = [q.size_bytes for q in model.quantizations]
    return {
        "id": model.id,
        "name": model.name,
        "family": model.family,
        "kind": "open",
        "parameters": model.parameters,
        "active_parameters": model.active_parameters,
        "context_length": model.architecture.max_context_length,
        "capabilities": sorted(model.capabilities),
        "license": model.license.name,
        "commercial": model.license.commercial,
        "quantizations": [q.type for q in model.quantizations],
        "smallest_bytes": min(sizes) if sizes else None,
        "largest_bytes": max(sizes) if sizes else None,
        "llama_cpp_supported": model.llama_cpp_supported,
    }


def model_detail(model: Model, catalog: Catalog) -> dict[str, object]:
    return {
        **model_summary(model),
        "publisher": model.publisher,
        "hf_repo": model.hf_repo,
        "released": model.released,
        "languages": list(model.languages),
        "architecture": model.architecture._asdict(),
        "license": model.license._asdict(),
        "gguf_repo": model.gguf.repo if model.gguf else None,
        "quantizer": model.gguf.quantizer if model.gguf else None,
        "vision_projector": model.vision_projector or None,
        "quantizations": [
            quantization_dict(q, catalog.quant_types.get(q.type)) for q in model.quantizations
        ],
        "benchmarks": [benchmark_dict(b) for b in model.benchmarks],
        "notes": model.notes,
        "source_file": model.source_file,
    }


def closed_detail(model: ClosedModel) -> dict[str, object]:
    return {
        "id": model.id,
        "name": model.name,
        "kind": "closed",
        "vendor": model.vendor,
        "released": model.released,
        "runnable": False,
        "input_usd_per_mtok": model.input_usd_per_mtok,
        "output_usd_per_mtok": model.output_usd_per_mtok,
        "price_source": model.price_source,
        "benchmarks": [benchmark_dict(b) for b in model.benchmarks],
        "notes": model.notes,
        "source_file": model.source_file,
    }
