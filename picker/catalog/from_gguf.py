"""A catalog entry (the TOML table shape) built from a GGUF header and its files.

Used by `picker catalog add`: the header gives the architecture facts exactly, the
files give exact sizes; what a header cannot tell (license terms, release date,
benchmarks) is left conservative or empty and says so in `notes`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from picker.catalog.hubfiles import FoundQuant
from picker.gguf import GGUFArray, GGUFHeader
from picker.gguf.model import MetadataValue

# llama.cpp's LLAMA_FTYPE numbers (general.file_type) for the types the catalog knows.
FILE_TYPES = {
    1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
    18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS",
    24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 38: "MXFP4_MOE",
}


def slug(text: str) -> str:
    """A catalog id from free text: lowercase, digits, '.', '_' and '-' only."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return cleaned or "model"


def quant_from_header(header: GGUFHeader) -> str | None:
    file_type = header.metadata.get("general.file_type")
    return FILE_TYPES.get(file_type) if isinstance(file_type, int) else None


def _largest(value: MetadataValue | None) -> int | None:
    """Per-layer arrays (head_count_kv, feed_forward_length) count by their largest entry."""
    if isinstance(value, GGUFArray):
        numbers = [v for v in (value.values or ()) if isinstance(v, int)]
        return max(numbers) if numbers else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def architecture_from_header(header: GGUFHeader, source: str) -> dict[str, object]:
    """The `[models.architecture]` table; raises ValueError when a required fact is missing."""
    arch = header.architecture
    layers = _largest(header.arch_value("block_count"))
    hidden = _largest(header.arch_value("embedding_length"))
    heads = _largest(header.arch_value("attention.head_count"))
    context = _largest(header.arch_value("context_length"))
    if not (arch and layers and hidden and heads and context):
        raise ValueError("the GGUF header lacks the architecture, block count, embedding length, "
                         "head count or context length")
    kv_heads = _largest(header.arch_value("attention.head_count_kv")) or heads
    key_length = _largest(header.arch_value("attention.key_length")) or hidden // heads
    value_length = _largest(header.arch_value("attention.value_length")) or key_length
    tokens = header.metadata.get("tokenizer.ggml.tokens")
    vocab = _largest(header.arch_value("vocab_size")) or (
        tokens.length if isinstance(tokens, GGUFArray) else None)
    table: dict[str, Any] = {
        "arch": arch, "layers": layers, "hidden_size": hidden, "heads": heads,
        "kv_heads": kv_heads, "key_length": key_length, "value_length": value_length,
        "vocab_size": vocab or 0, "context_length": context,
    }
    window = _largest(header.arch_value("attention.sliding_window"))
    if window and window < context:
        table["sliding_window"] = window
    experts = _largest(header.arch_value("expert_count"))
    used = _largest(header.arch_value("expert_used_count"))
    if experts and used:
        table |= {"experts": experts, "experts_used": used}
        shared = _largest(header.arch_value("expert_shared_count"))
        if shared:
            table["shared_experts"] = shared
    ffn = _largest(header.arch_value("feed_forward_length"))
    if ffn:
        table["intermediate_size"] = ffn
    lora = _largest(header.arch_value("attention.kv_lora_rank"))
    if lora:
        table["kv_lora_rank"] = lora
        rope = _largest(header.arch_value("rope.dimension_count"))
        if rope:
            table["rope_head_dim"] = rope
    table["tied_embeddings"] = not any(t.name == "output.weight" for t in header.tensors)
    table["source"] = source
    return table


def parameter_count(header: GGUFHeader) -> int:
    return sum(t.n_elements for t in header.tensors)


def entry_from_header(
    header: GGUFHeader,
    *,
    model_id: str,
    repo: str,
    quantizer: str,
    quants: list[FoundQuant],
    source: str,
    origin: str,
) -> dict[str, Any]:
    """One `[[models]]` table for the user catalog."""
    metadata = header.metadata
    name = metadata.get("general.name")
    license_name = metadata.get("general.license")
    has_template = isinstance(metadata.get("tokenizer.chat_template"), str)
    return {
        "id": model_id,
        "name": name if isinstance(name, str) and name else model_id,
        "publisher": str(metadata.get("general.organization") or "unknown"),
        "hf_repo": repo,
        "released": dt.date.today(),
        "parameters_b": parameter_count(header) / 1e9,
        "capabilities": ["instruct"] if has_template else [],
        "notes": f"Added by `picker catalog add` from {origin}; architecture and sizes read from "
                 "the GGUF files. Release date is the day it was added; license terms unchecked.",
        "architecture": architecture_from_header(header, source),
        "license": {
            "name": license_name if isinstance(license_name, str) and license_name else "unknown",
            "commercial": False,
            "gated": False,
            "note": "Not checked by picker: read the model's license before commercial use.",
        },
        "gguf": {
            "repo": repo,
            "quantizer": quantizer,
            "files": [
                {"quant": q.quant, **({"file": q.files[0]} if len(q.files) == 1
                                      else {"parts": list(q.files)}),
                 "size_bytes": q.size_bytes, **({"sha256": list(q.sha256)} if q.sha256 else {}),
                 "source": source}
                for q in quants
            ],
        },
    }
