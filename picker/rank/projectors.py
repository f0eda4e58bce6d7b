"""A vision model's projector, planned when the use case is vision.

llama.cpp's multimodal loader puts the projector (`mmproj-*.gguf`) on the main GPU beside
the model (`memory.projector`); ranking a model for images without it would promise room
the projector takes. Where the catalog gives the projector's size (with its source), that
much of the main GPU (or of RAM without a GPU) is reserved before the model is planned,
as `picker fit --mmproj PATH` does; its compute buffer needs the file's header (image and
patch sizes), which the catalog does not hold, so it is named, not counted.
"""

from __future__ import annotations

from picker.catalog.types import Model
from picker.memory.machine import Machine
from picker.rank.usecases import UseCase


def with_projector(model: Model, use_case: UseCase, machine: Machine) -> tuple[Machine, str | None]:
    """The machine less the projector's weights, and the row's note saying so; the machine
    as it is (and no note) outside the vision use case or without a known size."""
    if use_case.capability != "vision" or model.vision_projector_bytes <= 0:
        return machine, None
    from picker.memory.projector import Projector, reserve  # off `picker --json`'s path
    from picker.units import format_size

    projector = Projector(model.vision_projector, model.vision_projector_bytes,
                          "the catalog's file size", 0, 0)
    reserved, placed = reserve(machine, projector)
    return reserved, (
        f"vision projector {placed.file}: {format_size(placed.weights_bytes)} of weights "
        f"planned on {placed.device} before the model (its image compute buffer is not "
        "counted: picker fit --mmproj PATH plans it from the file)")
