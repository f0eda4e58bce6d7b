"""Split models (`name-00001-of-00003.gguf`): find all parts and combine their headers.

The first part holds the model's key/values; every part holds `split.no`,
`split.count` and its own tensor infos. The combined header lists every tensor,
tagged with the part (split_index) whose data section holds it.
"""

from __future__ import annotations

import re

from picker.gguf.model import GGUFError, GGUFHeader, TensorInfo

_SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
MAX_SPLIT_PARTS = 9999


def split_part_names(filename: str) -> list[str] | None:
    """All part file names of the split model `filename` belongs to, or None if not split.

    Works on a bare name or a repo path ("dir/model-00002-of-00004.gguf").
    """
    head, sep, base = filename.rpartition("/")
    m = _SPLIT_NAME.match(base)
    if m is None:
        return None
    count = int(m.group("count"))
    if count < 1 or int(m.group("no")) > count or count > MAX_SPLIT_PARTS:
        return None
    prefix = head + sep + m.group("prefix")
    return [f"{prefix}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]


def combine_parts(parts: list[GGUFHeader], names: list[str]) -> GGUFHeader:
    """One header for the whole model; checks the parts belong together."""
    count = len(parts)
    if count == 1:
        return parts[0]
    tensors: list[TensorInfo] = []
    seen: set[str] = set()
    for index, (part, name) in enumerate(zip(parts, names, strict=True)):
        split_no = part.metadata.get("split.no")
        split_count = part.metadata.get("split.count")
        if split_count != count or split_no != index:
            raise GGUFError(
                f"{name}: split.no={split_no!r}, split.count={split_count!r}; "
                f"expected part {index} of {count}"
            )
        for t in part.tensors:
            if t.name in seen:
                raise GGUFError(f"{name}: tensor {t.name!r} also appears in an earlier part")
            seen.add(t.name)
            tensors.append(
                TensorInfo(t.name, t.shape, t.ggml_type, t.type_name, t.offset, t.n_bytes, index)
            )
    first = parts[0]
    expected_tensors = first.metadata.get("split.tensors.count")
    if expected_tensors is not None and expected_tensors != len(tensors):
        raise GGUFError(
            f"{names[0]}: split.tensors.count is {expected_tensors}, "
            f"but the parts hold {len(tensors)} tensors"
        )
    sizes = [p.file_size_bytes for p in parts]
    total_size = None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
    return GGUFHeader(
        version=first.version,
        metadata=dict(first.metadata),
        tensors=tuple(tensors),
        alignment=first.alignment,
        data_offset=first.data_offset,
        header_bytes_read=sum(p.header_bytes_read for p in parts),
        file_size_bytes=total_size,
        split_count=count,
    )
