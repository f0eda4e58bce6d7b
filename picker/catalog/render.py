"""Catalog documents (from serialize.py) rendered for people."""

from __future__ import annotations

from typing import Any

from picker.catalog.types import trained_context_words
from picker.units import format_size


def render_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No catalog models match these filters."
    lines = [f"{'ID':38} {'PARAMS':>8} {'CONTEXT':>8}  {'SIZES':19} LICENSE"]
    for row in rows:
        params = f"{row['parameters'] / 1e9:.1f}B"
        if row["active_parameters"] != row["parameters"]:
            params = f"{row['parameters'] / 1e9:.0f}B/{row['active_parameters'] / 1e9:.1f}B"
        sizes = "n/a"
        if row["smallest_bytes"] is not None:
            sizes = f"{format_size(row['smallest_bytes'])}-{format_size(row['largest_bytes'])}"
        local = f"  [on disk: {', '.join(row['on_disk'])}]" if row.get("on_disk") else ""
        lines.append(f"{row['id']:38} {params:>8} {row['context_length'] // 1024:>7}k  "
                     f"{sizes:19} {row['license']}{local}")
    lines.append(f"{len(rows)} models (sizes marked ~ in `show` are estimates). "
                 "`picker catalog show ID` for details.")
    return "\n".join(lines)


def kv_heads_words(arch: dict[str, Any]) -> str:
    """KV heads as the layers hold them: Gemma 4's sliding and global layers differ."""
    sliding = arch.get("sliding_kv_heads", 0)
    if sliding and sliding != arch["kv_heads"]:
        return f"{arch['kv_heads']} KV heads on global layers, {sliding} on sliding-window ones"
    return f"{arch['kv_heads']} KV heads"


def render_detail(doc: dict[str, Any]) -> str:
    lines = [f"{doc['name']} ({doc['id']})"]
    if doc["kind"] == "closed":
        lines.append(f"  closed reference model by {doc['vendor']}, not runnable locally")
        lines.append(f"  API price: ${doc['input_usd_per_mtok']:.2f} in / "
                     f"${doc['output_usd_per_mtok']:.2f} out per million tokens")
    else:
        arch = doc["architecture"]
        lic = doc["license"]
        lines += [
            f"  {doc['publisher']}, released {doc['released']}, {doc['parameters'] / 1e9:.2f}B "
            f"parameters ({doc['active_parameters'] / 1e9:.2f}B active)",
            f"  architecture {arch['arch']}: {arch['layers']} layers, hidden {arch['hidden_size']}, "
            f"{arch['heads']} heads / {kv_heads_words(arch)}; context "
            f"{trained_context_words(arch['context_length'], arch['max_context_length'])}",
            f"  capabilities: {', '.join(doc['capabilities'])}",
            f"  license: {lic['name']} (commercial use {'yes' if lic['commercial'] else 'no'}"
            f"{', gated' if lic['gated'] else ''})",
            f"  GGUF: {doc['gguf_repo'] or 'none (llama.cpp cannot run it)'}",
        ]
        on_disk = {c["quant"]: c for c in doc.get("on_disk", [])}
        for quant in doc["quantizations"]:
            mark = "~" if quant["size_estimated"] else " "
            here = on_disk.get(quant["type"])
            where = f"  [on disk: {here['location']}, {here['paths'][0]}]" if here else ""
            lines.append(f"    {quant['type']:10} {mark}{format_size(quant['size_bytes']):>10}  "
                         f"{', '.join(quant['files']) or '(split files; run refresh)'}{where}")
    if doc["benchmarks"]:
        lines.append("  benchmarks:")
        for score in doc["benchmarks"]:
            setting = f", {score['setting']}" if score["setting"] else ""
            lines.append(f"    {score['benchmark']:18} {score['score']:>6}  "
                         f"({score['source']}{setting})")
    if doc["notes"]:
        lines.append(f"  note: {doc['notes']}")
    return "\n".join(lines)
