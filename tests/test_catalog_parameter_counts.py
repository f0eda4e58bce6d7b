"""Each catalog model's stated parameter count agrees with its own architecture facts.

For the plain transformer stacks (attention + SwiGLU FFN or routed experts per layer, token
embeddings, and an output matrix unless tied) the count follows from the facts alone, so a
wrong `tied_embeddings` flag, layer count or width, or a card's rounded size standing in for
the real count, shows as a gap. Granite 4.1 8B was both: marked tied at "8B", while llama.cpp
counts 8.79B in IBM's own file, the untied figure. The count is worked out here independently
of the memory estimator, from the catalog's facts only.
"""

from __future__ import annotations

import pytest

from picker.catalog import load_catalog_from, shipped_data_dir
from picker.catalog.types import Architecture, Catalog

# Architectures whose every layer is attention plus a dense or routed-expert SwiGLU FFN (no
# recurrent, convolution or latent-attention layers, no per-layer embeddings), so the count
# is exact up to norms and biases.
PLAIN_ARCHS = {"llama", "qwen2", "qwen3", "qwen3moe", "granite", "gemma2", "gemma3", "phi3",
               "gpt-oss", "glm4moe", "seed_oss", "smollm3", "olmo2", "minimax-m2", "mistral3",
               "llama4", "bailingmoe2", "ernie4_5", "ernie4_5-moe"}

TOLERANCE = 0.03  # norms, biases, routers' extras and a card's two-digit rounding stay inside

# Models whose stated count is not the text stack's, each with the reason. The list may only
# shrink: a model named here whose count comes to agree fails the test below until removed.
KNOWN_GAPS = {
    "gemma-3-4b-it": "the stated 4.3B includes the ~0.4B SigLIP vision encoder",
    "gemma-3-12b-it": "the stated 12.2B includes the ~0.4B SigLIP vision encoder",
    "llava-1.5-7b": "the stated 7.06B includes the ~0.3B CLIP vision tower and projector",
    "ministral-3-3b-instruct-2512": "the stated 3.8B includes the 0.4B vision encoder",
    "ministral-3-8b-instruct-2512": "the stated ~9B includes the 0.4B vision encoder",
    "llama-4-maverick-17b-128e-instruct": "experts only on every other layer (interleaved), "
                                          "which these facts cannot express",
    "granite-4.1-30b": "card's nominal 30B; the facts give 28.87B (tied, as the 4.2 30B's "
                       "file comparison shows)",
    "olmo-3-7b-instruct": "card's nominal 7B; the facts give 7.30B",
}


def parameter_count(arch: Architecture) -> int:
    """Weights of the stack the facts describe: attention, FFN or experts, embeddings, output."""
    hidden = arch.hidden_size
    key = arch.key_length or hidden // arch.heads
    value = arch.value_length or key
    attention = hidden * arch.heads * key + hidden * arch.kv_heads * (key + value) \
        + arch.heads * value * hidden
    ffn_width = arch.intermediate_size or 0  # models without one are not checked
    dense_ffn = 3 * hidden * ffn_width
    if arch.experts:
        expert_width = arch.expert_intermediate_size or ffn_width
        moe_ffn = 3 * hidden * (expert_width * arch.experts + arch.shared_expert_intermediate_size) \
            + hidden * arch.experts  # the router
        ffn = arch.dense_lead_layers * dense_ffn + (arch.layers - arch.dense_lead_layers) * moe_ffn
    else:
        ffn = arch.layers * dense_ffn
    embeddings = arch.vocab_size * hidden
    return arch.layers * attention + ffn + embeddings + (0 if arch.tied_embeddings else embeddings)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_from(shipped_data_dir())


def _checked(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Model id -> (relative gap of the count, the gap with the tied flag flipped)."""
    gaps: dict[str, tuple[float, float]] = {}
    for model in catalog.models:
        arch = model.architecture
        if (arch.arch not in PLAIN_ARCHS or arch.kv_lora_rank or arch.full_attention_interval
                or arch.per_layer_input_size or not arch.intermediate_size or not model.parameters):
            continue
        count = parameter_count(arch)
        output = arch.vocab_size * arch.hidden_size
        flipped = count + (output if arch.tied_embeddings else -output)
        gaps[model.id] = (count / model.parameters - 1, flipped / model.parameters - 1)
    return gaps


def test_stated_parameter_counts_agree_with_the_architecture(catalog: Catalog) -> None:
    gaps = _checked(catalog)
    assert len(gaps) >= 60  # the check covers most of the catalog, not a handful
    off = {model_id: gap for model_id, (gap, _) in gaps.items() if abs(gap) > TOLERANCE}
    unexpected = sorted(f"{model_id} ({gap:+.1%})" for model_id, gap in off.items()
                        if model_id not in KNOWN_GAPS)
    assert not unexpected, "stated parameters differ from the architecture's count: " \
        + ", ".join(unexpected)
    agreeing = sorted(model_id for model_id in KNOWN_GAPS if model_id in gaps and model_id not in off)
    assert not agreeing, f"now agree, remove from KNOWN_GAPS: {', '.join(agreeing)}"


def test_the_tied_flag_fits_the_stated_count_better_than_its_opposite(catalog: Catalog) -> None:
    # Only where the output matrix outweighs a rounded count's noise (small and mid models;
    # at 70B+ a 100k x 8192 matrix is about 1 % and a card's two digits cannot tell).
    wrong = sorted(f"{model_id} ({gap:+.1%}, flipped {flipped:+.1%})"
                   for model_id, (gap, flipped) in _checked(catalog).items()
                   if model_id not in KNOWN_GAPS and abs(flipped - gap) > TOLERANCE
                   and abs(flipped) < abs(gap))
    assert not wrong, "tied_embeddings fits the stated count worse than its opposite: " \
        + ", ".join(wrong)


def _tiny(tied: bool, experts: int = 0) -> Architecture:
    return Architecture(arch="llama", layers=2, hidden_size=8, heads=2, kv_heads=1, key_length=4,
                        value_length=4, vocab_size=100, context_length=4096,
                        max_context_length=4096, experts=experts, experts_used=min(experts, 2),
                        tied_embeddings=tied, intermediate_size=16)


def test_the_count_follows_the_tied_flag_and_the_experts() -> None:
    # per layer: q 8x8 + k, v 8x4 each + o 8x8 = 192, FFN 3 x 8 x 16 = 384; embeddings 800
    assert parameter_count(_tiny(tied=False)) == 2 * (192 + 384) + 800 + 800
    assert parameter_count(_tiny(tied=False)) - parameter_count(_tiny(tied=True)) == 800
    assert parameter_count(_tiny(tied=True, experts=4)) == 2 * (192 + 4 * 384 + 8 * 4) + 800
