"""Parse a GGUF header from any byte source, fast and safely.

Only the header is read: key/values, tensor infos, up to the aligned start of the
tensor data. Large arrays (a 262,144-token vocabulary) are stepped over without
being decoded. Every length and count in the file is checked against the bytes that
can exist before anything is fetched or allocated, so a hostile or damaged file gives
a `GGUFError` naming the problem and byte offset, never a hang, a MemoryError or any
other exception. The key/values are bounded as a whole too (their bytes, their array
elements, and the values kept from small arrays), far above any real model: a header
past a bound fails with one line naming it, after reading no further than the bound.
Validation follows llama.cpp's own loader (gguf.cpp): what it rejects, we reject, with
the reason.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from functools import cache

from picker.gguf.ggml_types import GGML_TYPES
from picker.gguf.model import (
    GGUFArray,
    GGUFError,
    GGUFHeader,
    MetadataValue,
    NotGGUFError,
    TensorInfo,
)

ReadAt = Callable[[int, int], bytes]

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
# Bounds far above any real model (Gemma 3's header is 6.5 MB, ~40 keys, 236 tensors) that
# keep the worst hostile header to seconds of work and a bounded allocation.
MAX_HEADER_BYTES = 128 * 1024 * 1024
# The key/values alone (real vocabularies and merges take under 16 MB), every array element
# in them (Gemma 3: ~0.8 M), and the elements kept as Python values (small arrays, each
# decoded value costing ~30 bytes of memory for 1 to 8 in the file): a header of many float
# arrays otherwise decodes into gigabytes.
MAX_METADATA_BYTES = 64 * 1024 * 1024
MAX_ARRAY_ELEMENTS = 8 * 1024 * 1024
MAX_KEPT_VALUES = 256 * 1024
MAX_KEY_VALUES = 100_000
MAX_TENSORS = 100_000
INITIAL_READ_BYTES = 1024 * 1024
MAX_KEY_BYTES = 65_535
MAX_TENSOR_NAME_BYTES = 63  # llama.cpp: GGML_MAX_NAME (64) including the NUL
MAX_DIMS = 4
KEEP_ARRAY_MAX = 8192  # arrays up to this many elements keep their values
INT64_MAX = 2**63 - 1

# GGUF value types
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32 = 0, 1, 2, 3, 4, 5, 6
T_BOOL, T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = 7, 8, 9, 10, 11, 12

VALUE_TYPE_NAMES: dict[int, str] = {
    T_UINT8: "uint8", T_INT8: "int8", T_UINT16: "uint16", T_INT16: "int16",
    T_UINT32: "uint32", T_INT32: "int32", T_FLOAT32: "float32", T_BOOL: "bool",
    T_STRING: "string", T_ARRAY: "array", T_UINT64: "uint64", T_INT64: "int64",
    T_FLOAT64: "float64",
}  # fmt: skip

# fixed-size value types: struct format character and size
_SCALAR_FORMATS: dict[int, tuple[str, int]] = {
    T_UINT8: ("B", 1), T_INT8: ("b", 1), T_UINT16: ("H", 2), T_INT16: ("h", 2),
    T_UINT32: ("I", 4), T_INT32: ("i", 4), T_FLOAT32: ("f", 4), T_BOOL: ("B", 1),
    T_UINT64: ("Q", 8), T_INT64: ("q", 8), T_FLOAT64: ("d", 8),
}  # fmt: skip
_SCALAR_STRUCTS = {t: struct.Struct("<" + fmt) for t, (fmt, _) in _SCALAR_FORMATS.items()}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_DIM_STRUCTS = tuple(struct.Struct(f"<{n}Q") for n in range(MAX_DIMS + 1))
_TYPE_AND_OFFSET = struct.Struct("<IQ")


class _Source:
    """The header bytes fetched so far, grown geometrically on demand."""

    __slots__ = ("buf", "file_size", "initial_read", "metadata_end", "read_at")

    def __init__(self, read_at: ReadAt, file_size: int | None, initial_read: int) -> None:
        self.read_at = read_at
        self.file_size = file_size
        self.initial_read = max(1, initial_read)
        self.buf = bytearray()
        self.metadata_end: int | None = None  # set while the key/values are read

    def limit(self) -> int:
        """The furthest byte the header (or, while they are read, its key/values) may reach."""
        furthest = MAX_HEADER_BYTES if self.file_size is None else min(self.file_size, MAX_HEADER_BYTES)
        return furthest if self.metadata_end is None else min(furthest, self.metadata_end)

    def bound_hit(self, end: int) -> str | None:
        """Which of picker's bounds (not the file's end) a read up to `end` would cross."""
        if self.metadata_end is not None and end > self.metadata_end:
            return f"the {MAX_METADATA_BYTES:,}-byte bound on a header's key/values"
        if end > MAX_HEADER_BYTES:
            return f"the {MAX_HEADER_BYTES:,}-byte bound on a header"
        return None

    def ensure(self, end: int, what: str, at: int) -> None:
        """Make bytes [0, end) available, or say why they cannot be."""
        have = len(self.buf)
        if end <= have:
            return
        if self.file_size is not None and end > self.file_size:
            raise GGUFError(
                f"{what} runs past the end of the file ({end} bytes needed, the file has "
                f"{self.file_size}): it is truncated or damaged",
                at,
            )
        bound = self.bound_hit(end)
        if bound is not None:
            raise GGUFError(f"{what} reaches past {bound}", at)
        stop = min(max(end, have + max(have, self.initial_read)), self.limit())
        while len(self.buf) < end:
            start = len(self.buf)
            chunk = self.read_at(start, stop - start)
            if not chunk:
                raise GGUFError(
                    f"file is truncated: {what} needs {end} bytes, only {start} exist", at
                )
            self.buf += chunk if len(chunk) <= stop - start else chunk[: stop - start]


class _Parser:
    def __init__(self, src: _Source) -> None:
        self.src = src
        self.pos = 0
        self.array_elements = 0  # in every array so far (MAX_ARRAY_ELEMENTS)
        self.kept_values = 0  # decoded into Python values (MAX_KEPT_VALUES)

    def take(self, n: int, what: str) -> int:
        """Consume n bytes; return where they start in the buffer."""
        start = self.pos
        self.src.ensure(start + n, what, start)
        self.pos = start + n
        return start

    def u32(self, what: str) -> int:
        value: int = _U32.unpack_from(self.src.buf, self.take(4, what))[0]
        return value

    def u64(self, what: str) -> int:
        value: int = _U64.unpack_from(self.src.buf, self.take(8, what))[0]
        return value

    def raw_string(self, what: str, max_bytes: int) -> tuple[bytes, int]:
        at = self.pos
        n = self.u64(f"length of {what}")
        if n > max_bytes:
            raise GGUFError(f"{what} is {n} bytes long, more than the {max_bytes} allowed", at)
        start = self.take(n, what)
        return bytes(self.src.buf[start : start + n]), at

    def name(self, what: str, max_bytes: int) -> str:
        raw, at = self.raw_string(what, max_bytes)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError(f"{what} is not valid UTF-8: {raw[:40]!r}", at) from None

    def text(self, what: str) -> str:
        raw, _ = self.raw_string(what, MAX_HEADER_BYTES)
        return raw.decode("utf-8", errors="replace")

    def value_type(self, what: str) -> int:
        at = self.pos
        t = self.u32(what)
        if t not in VALUE_TYPE_NAMES:
            raise GGUFError(f"{what} has unknown value type {t}", at)
        return t

    def value(self, t: int, what: str) -> MetadataValue:
        if t == T_STRING:
            return self.text(what)
        if t == T_ARRAY:
            return self.array(what)
        _, size = _SCALAR_FORMATS[t]
        v: int | float = _SCALAR_STRUCTS[t].unpack_from(self.src.buf, self.take(size, what))[0]
        return bool(v) if t == T_BOOL else v

    def array(self, what: str) -> GGUFArray:
        at = self.pos
        t = self.value_type(f"element type of {what}")
        if t == T_ARRAY:
            raise GGUFError(f"{what} is an array of arrays, which llama.cpp does not accept", at)
        n = self.u64(f"length of {what}")
        room = self.src.limit() - self.pos
        min_size = 8 if t == T_STRING else _SCALAR_FORMATS[t][1]
        if n > room // min_size:
            bound = self.src.bound_hit(self.pos + n * min_size)
            if bound is not None:
                raise GGUFError(f"{what} claims {n} elements, which reach past {bound}", at)
            raise GGUFError(
                f"{what} claims {n} elements, more than the {max(room, 0)} bytes left can hold", at
            )
        self.array_elements += n
        if self.array_elements > MAX_ARRAY_ELEMENTS:
            raise GGUFError(f"{what} brings the arrays to {self.array_elements:,} elements, past the "
                            f"bound of {MAX_ARRAY_ELEMENTS:,} per header", at)
        if n <= KEEP_ARRAY_MAX:
            self.kept_values += n
            if self.kept_values > MAX_KEPT_VALUES:
                raise GGUFError(f"{what} brings the values kept from small arrays to "
                                f"{self.kept_values:,}, past the bound of {MAX_KEPT_VALUES:,} per header",
                                at)
        if t == T_STRING:
            if n <= KEEP_ARRAY_MAX:
                return GGUFArray(t, n, tuple(self.text(f"element of {what}") for _ in range(n)))
            self.skip_strings(n, what)
            return GGUFArray(t, n, None)
        fmt, size = _SCALAR_FORMATS[t]
        start = self.take(n * size, what)
        if n > KEEP_ARRAY_MAX:
            return GGUFArray(t, n, None)
        values = struct.unpack_from(f"<{n}{fmt}", self.src.buf, start)
        if t == T_BOOL:
            values = tuple(bool(v) for v in values)
        return GGUFArray(t, n, values)

    def skip_strings(self, n: int, what: str) -> None:
        """Step over n length-prefixed strings without decoding them (the hot loop).

        Runs of short strings (nearly every token) are matched in C by a regular
        expression; anything else goes one string at a time, each length checked.
        """
        src = self.src
        unpack = _U64.unpack_from
        match = _short_string_run().match
        limit = src.limit()
        buf = src.buf
        have = len(buf)
        pos = self.pos
        i = 0
        while i < n:
            if n - i >= _RUN and pos < have:
                m = match(buf, pos)
                if m is not None:
                    pos = m.end()
                    i += _RUN
                    continue
            for j in range(i, min(n, i + _RUN)):
                if pos + 8 > have:
                    src.ensure(pos + 8, f"length of string {j} of {what}", pos)
                    buf, have = src.buf, len(src.buf)
                size = unpack(buf, pos)[0]
                if pos + 8 + size > limit:
                    bound = src.bound_hit(pos + 8 + size)
                    raise GGUFError(
                        f"string {j} of {what} is {size} bytes long, past "
                        + (bound if bound is not None else "the end of the file"),
                        pos,
                    )
                pos += 8 + size
            i = min(n, i + _RUN)
        src.ensure(pos, f"last string of {what}", pos)
        self.pos = pos


_RUN = 256  # strings per regular-expression match
_SHORT = 64  # longest string the expression covers, in bytes


@cache
def _short_string_run() -> re.Pattern[bytes]:
    """Matches _RUN consecutive strings of at most _SHORT bytes: u64 length, then the bytes."""
    one = b"|".join(re.escape(bytes([n])) + b"\x00{7}" + b".{%d}" % n for n in range(_SHORT + 1))
    return re.compile(b"(?:%s){%d}+" % (one, _RUN), re.DOTALL)


def parse_header(
    read_at: ReadAt,
    file_size_bytes: int | None,
    *,
    initial_read_bytes: int = INITIAL_READ_BYTES,
) -> GGUFHeader:
    """Parse a GGUF header; read_at(offset, length) may return fewer bytes at EOF."""
    src = _Source(read_at, file_size_bytes, initial_read_bytes)
    p = _Parser(src)
    p.take(4, "magic")
    magic = bytes(src.buf[:4])
    if magic != GGUF_MAGIC:
        raise NotGGUFError(f"not a GGUF file (magic {magic!r}, expected b'GGUF')", 0)
    version = p.u32("version")
    if version & 0xFFFF == 0:
        raise GGUFError(f"GGUF version {version:#x} looks big-endian, which is not supported", 4)
    if version not in SUPPORTED_VERSIONS:
        raise GGUFError(f"unsupported GGUF version {version} (supported: 2, 3)", 4)
    n_tensors = p.u64("tensor count")
    n_kv = p.u64("key/value count")
    room = src.limit() - p.pos
    if n_tensors > min(room // 24, MAX_TENSORS):  # a tensor info takes at least 24 bytes
        raise GGUFError(f"header claims {n_tensors} tensors, more than the file can hold", 8)
    if n_kv > min(room // 13, MAX_KEY_VALUES):  # a key/value takes at least 13 bytes
        raise GGUFError(f"header claims {n_kv} key/values, more than the file can hold", 16)

    metadata: dict[str, MetadataValue] = {}
    src.metadata_end = p.pos + MAX_METADATA_BYTES
    for _ in range(n_kv):
        key_at = p.pos
        key = p.name("metadata key", MAX_KEY_BYTES)
        if key in metadata:
            raise GGUFError(f"duplicate metadata key {key!r}", key_at)
        t = p.value_type(f"value of {key!r}")
        if key == "general.alignment" and t != T_UINT32:
            kind = VALUE_TYPE_NAMES[t]
            raise GGUFError(f"general.alignment is a {kind}; llama.cpp requires a uint32", key_at)
        metadata[key] = p.value(t, f"value of {key!r}")
    src.metadata_end = None

    alignment = _alignment(metadata)
    tensors, info_offsets = _tensor_infos(p, n_tensors)
    data_offset = -(-p.pos // alignment) * alignment
    _check_data_layout(tensors, info_offsets, alignment, data_offset, file_size_bytes)
    return GGUFHeader(
        version=version,
        metadata=metadata,  # a plain dict (typed read-only) so headers pickle
        tensors=tuple(tensors),
        alignment=alignment,
        data_offset=data_offset,
        header_bytes_read=len(src.buf),
        file_size_bytes=file_size_bytes,
    )


def _alignment(metadata: dict[str, MetadataValue]) -> int:
    value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    assert isinstance(value, int)  # a uint32: its type was checked as it was read
    if value <= 0 or value & (value - 1) or value > 2**20:
        raise GGUFError(f"general.alignment {value} is not a power of 2 up to 1 MiB")
    return value


def _tensor_infos(p: _Parser, n_tensors: int) -> tuple[list[TensorInfo], list[int]]:
    """Read the tensor infos: each field unpacked straight from the buffer (this runs per tensor)."""
    src = p.src
    buf = src.buf  # grows in place, so this stays the buffer
    tensors: list[TensorInfo] = []
    info_offsets: list[int] = []
    seen: set[str] = set()
    for i in range(n_tensors):
        at = p.pos
        src.ensure(at + 8, "length of a tensor name", at)
        name_len: int = _U64.unpack_from(buf, at)[0]
        if name_len > MAX_TENSOR_NAME_BYTES:
            raise GGUFError(
                f"name of tensor {i} is {name_len} bytes long, more than the "
                f"{MAX_TENSOR_NAME_BYTES} allowed",
                at,
            )
        dims_at = at + 8 + name_len
        src.ensure(dims_at + 4, "tensor name and dimension count", at)
        raw = bytes(buf[at + 8 : dims_at])
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError(f"name of tensor {i} is not valid UTF-8: {raw!r}", at) from None
        if name in seen:
            raise GGUFError(f"duplicate tensor name {name!r}", at)
        seen.add(name)
        n_dims: int = _U32.unpack_from(buf, dims_at)[0]
        if n_dims > MAX_DIMS:
            raise GGUFError(f"tensor {name!r} has {n_dims} dimensions (at most 4)", dims_at)
        type_at = dims_at + 4 + 8 * n_dims
        src.ensure(type_at + 12, f"tensor {name!r}", at)
        shape: tuple[int, ...] = _DIM_STRUCTS[n_dims].unpack_from(buf, dims_at + 4)
        ggml_type, offset = _TYPE_AND_OFFSET.unpack_from(buf, type_at)
        p.pos = type_at + 12
        n_elements = 1
        for d in shape:
            if d > INT64_MAX:
                raise GGUFError(f"tensor {name!r} has a negative dimension in {shape}", dims_at)
            n_elements *= d
        if n_elements >= INT64_MAX:
            raise GGUFError(f"tensor {name!r} has too many elements: shape {shape}", dims_at)
        gt = GGML_TYPES.get(ggml_type)
        if gt is None:
            raise GGUFError(f"tensor {name!r} has unknown ggml type {ggml_type}", type_at)
        row = shape[0] if shape else 1
        if row % gt.block_size:
            raise GGUFError(
                f"tensor {name!r} of type {gt.name} has rows of {row} elements, "
                f"not a multiple of the block size {gt.block_size}",
                type_at,
            )
        n_bytes = n_elements // gt.block_size * gt.type_size
        tensors.append(TensorInfo(name, shape, ggml_type, gt.name, offset, n_bytes))
        info_offsets.append(at)
    return tensors, info_offsets


def _check_data_layout(
    tensors: list[TensorInfo],
    info_offsets: list[int],
    alignment: int,
    data_offset: int,
    file_size_bytes: int | None,
) -> None:
    """Tensors must follow each other at aligned offsets, inside the file (as llama.cpp checks)."""
    if file_size_bytes is not None and data_offset > file_size_bytes:
        raise GGUFError(
            f"tensor data would start at {data_offset}, past the end of the file "
            f"({file_size_bytes} bytes)",
            data_offset,
        )
    expected = 0
    for t, at in zip(tensors, info_offsets, strict=True):
        if t.offset != expected:
            raise GGUFError(
                f"tensor {t.name!r} has data offset {t.offset}, expected {expected}", at
            )
        end = data_offset + t.offset + t.n_bytes
        if file_size_bytes is not None and end > file_size_bytes:
            raise GGUFError(
                f"data of tensor {t.name!r} ends at byte {end}, past the end of the file "
                f"({file_size_bytes} bytes)",
                at,
            )
        expected += -(-t.n_bytes // alignment) * alignment
