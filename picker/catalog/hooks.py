"""Catalog ids (`MODEL_ID:QUANT`) for the other commands: what to download, what to fit.

`picker.targets` reads every TARGET; a catalog id is resolved here, so `picker download`,
`picker fit`, smoke, chat and the TUI say the same thing about a mistyped one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker.catalog.types import Catalog, Model, Quantization
from picker.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from picker.hub.target import HubFiles
    from picker.memory.shape import ModelShape


def resolve(target: str, catalog: Catalog | None = None) -> tuple[Model, Quantization]:
    """The model and quantization a `MODEL_ID:QUANT` target names."""
    from picker.catalog.loader import load_catalog

    catalog = catalog if catalog is not None else load_catalog()
    model_id, sep, quant_type = target.rpartition(":")
    if not sep or not model_id or not quant_type:
        raise UsageError(f"cannot read {target!r}; write MODEL_ID:QUANT, e.g. qwen3-8b:Q4_K_M")
    model = catalog.model(model_id)
    if model is None:
        import difflib  # only for the "did you mean" of a mistyped id

        close = difflib.get_close_matches(model_id.lower(), [m.id for m in catalog.models], n=1,
                                          cutoff=0.4)
        hint = f"did you mean {close[0]!r}?" if close else "see `picker catalog list`"
        skipped = f" ({catalog.warnings[0]})" if catalog.warnings else ""  # e.g. a bad added.toml
        raise NotFoundError(f"no catalog model {model_id!r}; {hint}{skipped}")
    quant = model.quantization(quant_type)
    if quant is None:
        have = ", ".join(q.type for q in model.quantizations) or "none (llama.cpp cannot run it)"
        raise NotFoundError(f"{model.id} has no {quant_type.upper()} quantization; it has: {have}")
    return model, quant


def hub_files(target: str) -> HubFiles:
    """`picker.hub.HubFiles` for a catalog id (the catalog's file names and exact sizes)."""
    return files_of(*resolve(target))


def files_of(model: Model, quant: Quantization) -> HubFiles:
    """What downloading one catalog quantization fetches; a usage error when nothing can be."""
    from picker.hub.target import HubFiles

    if model.gguf is None or model.gguf.quantizer == "local":
        where = ", ".join(quant.files) if quant.files else "nowhere known"
        raise UsageError(f"{model.id} is a local file ({where}); there is nothing to download")
    if not quant.files:
        raise UsageError(f"the file names of {model.id} {quant.type} are not known yet (split "
                         f"files); run `picker catalog refresh {model.id}` and retry")
    sizes = ({quant.files[0]: quant.size_bytes}
             if len(quant.files) == 1 and not quant.size_estimated else {})
    return HubFiles(repo_id=model.gguf.repo, filenames=quant.files, expected_sizes=sizes)


def fit_shape(target: str) -> ModelShape:
    """`picker.memory.shape.ModelShape` from the catalog's architecture facts and file size.

    Marked `estimated` by the memory module: the weights are split from the file size.
    Capped at the native trained context, as a GGUF header would say.
    """
    model, quant = resolve(target)
    return shape_from_catalog(model, quant, n_ctx_train=model.architecture.context_length)


def shape_from_catalog(model: Model, quant: Quantization, n_ctx_train: int) -> ModelShape:
    """The fit engine's ModelShape for one catalog quantization (no header at hand)."""
    from picker.memory.estimate import Layout, shape_from_facts

    arch = model.architecture
    return shape_from_facts(
        architecture=arch.arch,
        n_layer=arch.layers,
        n_embd=arch.hidden_size,
        n_head=arch.heads,
        n_head_kv=arch.kv_heads,
        n_vocab=arch.vocab_size,
        n_ctx_train=n_ctx_train,
        file_size_bytes=quant.size_bytes,
        key_length=arch.key_length,
        value_length=arch.value_length,
        n_ff=arch.intermediate_size,
        sliding_window=arch.sliding_window,
        sliding_window_pattern=arch.sliding_window_pattern or None,
        n_expert=arch.experts,
        n_expert_used=arch.experts_used,
        tied_embeddings=arch.tied_embeddings,
        kv_lora_rank=arch.kv_lora_rank or 0,
        rope_dim=arch.rope_head_dim or 0,
        layout=Layout(
            n_ff_expert=arch.expert_intermediate_size,
            n_ff_shared=arch.shared_expert_intermediate_size,
            n_layer_dense_lead=arch.dense_lead_layers, n_layer_nextn=arch.nextn_layers,
            full_attention_interval=arch.full_attention_interval,
            full_attention_last_layer=arch.full_attention_last_layer,
            linear_conv_kernel=arch.linear_conv_kernel, linear_key_heads=arch.linear_key_heads,
            linear_value_heads=arch.linear_value_heads,
            linear_key_head_dim=arch.linear_key_head_dim,
            linear_value_head_dim=arch.linear_value_head_dim,
            shared_kv_layers=arch.shared_kv_layers, n_embd_per_layer=arch.per_layer_input_size,
            head_dim_swa=arch.sliding_head_dim, n_head_kv_swa=arch.sliding_kv_heads,
            indexer_key_length=arch.indexer_key_length, indexer_top_k=arch.indexer_top_k,
            csa_layers=arch.csa_layers, hca_layers=arch.hca_layers,
            attention_layers=arch.attention_layers, mamba_layers=arch.mamba_layers,
        ),
    )
