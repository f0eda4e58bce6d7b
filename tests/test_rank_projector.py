"""A vision model's projector counts in its fit when the use case is vision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from picker.catalog import CatalogError, load_catalog, load_catalog_from
from picker.hardware.overrides import HardwareOverrides
from picker.rank.request import RankRequest, recommendations_document
from tests.test_catalog_validation import GOOD_MODEL, make_catalog

GIB = 1024**3
SIZED = ("gemma-4-12b-it", "qwen3.8-27b", "muse-glimmer-30b")


def rows(use_case: str, vram_gib: int) -> dict[str, dict[str, Any]]:
    overrides = HardwareOverrides(ram_bytes=64 * GIB, vram_bytes=(vram_gib * GIB,),
                                  cpu_threads=8, memory_bandwidth_gbps=80.0)  # speeds fixed
    document = recommendations_document(RankRequest(use_case=use_case, limit=None,
                                                    overrides=overrides))
    return {row["model_id"]: row for row in document["recommendations"]}


def gpu(row: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in row["memory"]["devices"] if d["device"] != "CPU")


def test_the_vision_use_case_plans_each_model_beside_its_projector() -> None:
    catalog = load_catalog()
    general, vision = rows("general", 17), rows("vision", 17)
    for model_id in SIZED:
        projector = catalog.model(model_id).vision_projector_bytes  # type: ignore[union-attr]
        assert projector > 0
        row = vision[model_id]
        # planned against the main GPU less the projector's weights, and saying so
        assert gpu(row)["free_bytes"] == 17 * GIB - projector
        assert gpu(general[model_id])["free_bytes"] == 17 * GIB
        assert any(note.startswith("vision projector ") for note in row["notes"])
        assert not any("projector" in note for note in general[model_id]["notes"])
    # Muse Glimmer 30B Q4_K_M (16.3 GiB here) fits a 17 GiB GPU whole for text, not beside
    # its 1.3 GiB projector
    muse = "muse-glimmer-30b"
    assert (general[muse]["quant"], general[muse]["placement"]) == ("Q4_K_M", "gpu")
    assert vision[muse]["placement"] != "gpu" or vision[muse]["quant"] != "Q4_K_M"


@pytest.mark.parametrize(("extra", "said"), [
    ('vision_projector_bytes = 900000000\nvision_projector = "mmproj-F16.gguf"\n',
     "needs a vision_projector_source"),
    ('vision_projector_bytes = 900000000\nvision_projector_source = "no-such-source"\n'
     'vision_projector = "mmproj-F16.gguf"\n', "no-such-source"),
    ('vision_projector_bytes = 900000000\nvision_projector_source = "seed"\n',
     "needs the vision_projector file it sizes"),
    ('vision_projector_source = "seed"\n', "without vision_projector_bytes"),
])
def test_a_projector_size_needs_its_file_and_source(tmp_path: Path, extra: str, said: str) -> None:
    family = GOOD_MODEL.replace('capabilities = ["instruct"]\n',
                                'capabilities = ["instruct"]\n' + extra)
    with pytest.raises(CatalogError) as raised:
        load_catalog_from(make_catalog(tmp_path, family))
    assert said in str(raised.value)
