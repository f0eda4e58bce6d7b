"""Read the header of a GGUF file on disk (all parts of a split model)."""

from __future__ import annotations

import os
from pathlib import Path

from picker.errors import NotFoundError, PickerError, UsageError
from picker.gguf.model import GGUFError, GGUFHeader
from picker.gguf.reader import parse_header
from picker.gguf.split import combine_parts, split_part_names


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Header of a local .gguf; given any part of a split model, combines all its parts."""
    p = Path(path)
    names = split_part_names(p.name)
    if names is None or len(names) == 1:
        return _read_one(p)
    part_paths = [p.with_name(n) for n in names]
    for part in part_paths:
        if not part.exists():
            raise NotFoundError(
                f"split model part {part} is missing; download all {len(names)} parts"
            )
    headers = [_read_one(part) for part in part_paths]
    return combine_parts(headers, [str(part) for part in part_paths])


def _read_one(path: Path) -> GGUFHeader:
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size

            def read_at(offset: int, length: int) -> bytes:
                length = min(length, size - offset)
                if length <= 0:
                    return b""
                f.seek(offset)
                return f.read(length)

            return parse_header(read_at, size)
    except GGUFError as e:
        raise e.with_source(str(path)) from None
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a .gguf file") from None
    except PickerError:
        raise
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
