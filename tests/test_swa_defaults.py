"""Which layers slide when a GGUF states a window but no pattern: llama.cpp's default per
architecture (load_swa_pattern in src/models/<arch>.cpp of the llama.cpp picker pins)."""

from __future__ import annotations

from picker.memory.shape import swa_layer_pattern


def test_muse_glimmer_slides_three_layers_of_four_and_the_fourth_is_global() -> None:
    # Muse Glimmer 30B's config: layer_types sliding, sliding, sliding, full (x13)
    flags = swa_layer_pattern("muse-glimmer", 52, 2048, None)
    assert flags == (True, True, True, False) * 13


def test_laguna_puts_its_global_layer_first() -> None:
    assert swa_layer_pattern("laguna", 8, 4096, None) == (False, True, True, True) * 2


def test_an_architecture_without_a_default_ignores_a_window_it_has_no_pattern_for() -> None:
    assert swa_layer_pattern("llama", 4, 4096, None) == (False,) * 4
