"""A recommendation says why it is not a larger quant when the speed floor decided (item 6)."""

from __future__ import annotations

import re

from tests.cli_helpers import run_picker


def test_quants_left_out_for_speed_are_named() -> None:
    rows = run_picker("recommend", "--ram", "20G", "--json", "--limit", "30").json()["recommendations"]
    explained = [(row, note) for row in rows for note in row["notes"] if "fit but run under" in note]
    assert explained, "on a CPU-only 20 GiB machine some larger quants are too slow"
    for row, note in explained:
        assert row["tokens_per_second"]["estimate"] >= 5
        named = re.match(r"(.*) fit but run under 5 tokens/s here \(--min-speed\); (\S+) keeps",
                         note)
        assert named is not None and named.group(2) == row["quant"], note
    # Without the floor the same model is free to take a larger quant, and says nothing of speed.
    row, _ = explained[0]
    relaxed = run_picker("recommend", "--ram", "20G", "--json", "--limit", "100",
                         "--min-speed", "0.01").json()["recommendations"]
    (same,) = [r for r in relaxed if r["model_id"] == row["model_id"]]
    assert not any("fit but run under" in note for note in same["notes"])


def test_every_quant_in_the_detail_has_the_rankings_speed_estimate() -> None:
    from picker.catalog import load_catalog
    from picker.hardware.overrides import HardwareOverrides
    from picker.hardware.probe import probe_hardware
    from picker.rank.quant_fits import quant_fits

    document = run_picker("recommend", "--ram", "20G", "--json", "--limit", "5").json()
    snapshot = probe_hardware(HardwareOverrides(ram_bytes=20 * 1024**3))
    catalog = load_catalog()
    for row in document["recommendations"]:
        model = catalog.model(row["model_id"])
        assert model is not None
        rows = {q["quant"]: q for q in quant_fits(model, snapshot, row["context"])}
        assert all(q["tokens_per_second"] is not None for q in rows.values()
                   if q["placement"] != "does-not-fit")
        assert abs(rows[row["quant"]]["tokens_per_second"] - row["tokens_per_second"]["estimate"]) \
            <= 0.1 + 0.01 * row["tokens_per_second"]["estimate"]
