"""What a parsed GGUF header looks like to the rest of picker (immutable values)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from picker.errors import ExitCode, PickerError


class GGUFError(PickerError):
    """The file is not a GGUF header picker (or llama.cpp) can use; says what and where."""

    exit_code = ExitCode.USAGE
    code = "gguf"

    def __init__(self, problem: str, offset: int | None = None) -> None:
        message = problem if offset is None else f"{problem} (at byte offset {offset})"
        super().__init__(message)
        self.problem = problem
        self.offset = offset

    def with_source(self, source: str) -> GGUFError:
        """The same error, its message prefixed with the file it came from."""
        return type(self)(f"{source}: {self.problem}", self.offset)


class NotGGUFError(GGUFError):
    """Not a GGUF file at all (its first bytes are not the magic): nothing for llama.cpp to try."""


@dataclass(frozen=True)
class GGUFArray:
    """An array value: small arrays keep their values, large ones (token lists) only a length."""

    element_type: int  # GGUF value type of the elements (see reader.VALUE_TYPE_NAMES)
    length: int
    values: tuple[MetadataValue, ...] | None


# One metadata value: a scalar as Python has it (GGUF's bool, integers, floats, string) or
# an array.
MetadataValue = bool | int | float | str | GGUFArray


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]  # GGUF order: ne0 (the row length) first
    ggml_type: int
    type_name: str  # e.g. "Q4_K", "F16"
    offset: int  # relative to the data_offset of the file (part) holding the tensor
    n_bytes: int  # exact storage size
    split_index: int = 0  # which part of a split model holds it (0 for single files)

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    metadata: Mapping[str, MetadataValue]
    tensors: tuple[TensorInfo, ...]
    alignment: int
    data_offset: int  # absolute offset where tensor data starts (of part 1 when split)
    header_bytes_read: int  # bytes read from disk or fetched from the Hub (header + read-ahead), all parts
    file_size_bytes: int | None  # total of all parts when split
    split_count: int = 1

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    def arch_value(self, suffix: str,
                   default: MetadataValue | None = None) -> MetadataValue | None:
        """metadata[f"{architecture}.{suffix}"], e.g. arch_value("block_count")."""
        arch = self.architecture
        if arch is None:
            return default
        return self.metadata.get(f"{arch}.{suffix}", default)

    @property
    def weights_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)
