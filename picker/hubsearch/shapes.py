"""A model's memory-plan facts (`ModelShape`) as plain JSON, and back, checked field by field.

A header read from the Hub is kept as its shape (a few KB of numbers), so cached search
results are planned again for whatever machine asks, offline too, without the header
bytes. A cached shape is data someone could have edited: every field must have the type
the plan expects, or the whole shape is refused.
"""

from __future__ import annotations

import typing

from picker.memory.shape import ModelShape, _ShapeFields

MAX_TUPLE_ITEMS = 4096  # per-layer tuples: no model has this many layers


def shape_to_json(shape: ModelShape) -> dict[str, object]:
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in shape._asdict().items()}


def _field_kinds() -> dict[str, object]:
    hints = typing.get_type_hints(_ShapeFields)
    return {name: hints[name] for name in _ShapeFields._fields}


def _checked(kind: object, value: object) -> object:
    """`value` as `kind` (int, bool, str or a tuple of int/bool); TypeError if it is not."""
    if typing.get_origin(kind) is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(value, list) or len(value) > MAX_TUPLE_ITEMS:
            raise TypeError
        return tuple(_checked(item_kind, item) for item in value)
    if kind is bool:
        if type(value) is not bool:
            raise TypeError
        return value
    if kind is int:
        if type(value) is not int or not -(2**62) < value < 2**62:
            raise TypeError
        return value
    if kind is str:
        if not isinstance(value, str) or len(value) > 1000:
            raise TypeError
        return value
    raise TypeError


def shape_from_json(document: object) -> ModelShape | None:
    """The shape in `document`, or None when any field is missing or of the wrong type."""
    if not isinstance(document, dict):
        return None
    values: dict[str, object] = {}
    try:
        for name, kind in _field_kinds().items():
            if name not in document:
                if name in _ShapeFields._field_defaults:
                    continue
                return None
            values[name] = _checked(kind, document[name])
    except TypeError:
        return None
    shape = ModelShape(**values)  # type: ignore[arg-type]
    n_layer = shape.n_layer
    per_layer = (shape.n_head, shape.n_head_kv, shape.n_ff)
    if not 0 < n_layer <= MAX_TUPLE_ITEMS or any(len(t) != n_layer for t in per_layer) or any(
            t and len(t) != n_layer for t in (shape.swa_layers, shape.recurrent_layers,
                                              shape.layer_weight_bytes)):
        return None
    if min((*shape.layer_weight_bytes, shape.input_weight_bytes, shape.output_weight_bytes,
            shape.n_embd, shape.n_vocab, shape.file_size_bytes), default=0) < 0:
        return None
    return shape


def scaled_shape(shape: ModelShape, file_size_bytes: int, read_quant: str) -> ModelShape:
    """`shape` with every weight scaled to another quantization's file size: the architecture
    is the same file's, only the bytes per weight differ. Marked estimated, saying from what."""
    ratio = file_size_bytes / shape.file_size_bytes if shape.file_size_bytes else 1.0
    scaled = shape.with_weights(
        layer_weight_bytes=tuple(round(b * ratio) for b in shape.layer_weight_bytes),
        input_weight_bytes=round(shape.input_weight_bytes * ratio),
        output_weight_bytes=round(shape.output_weight_bytes * ratio),
        file_size_bytes=file_size_bytes)
    return scaled._replace(
        estimated=True,
        estimate_note=f"weights scaled from the {read_quant} file's header by file size")
