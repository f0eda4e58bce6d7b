"""Damaged and hostile GGUF headers: each gives a GGUFError naming the problem and byte offset.

Files are built byte by byte here so every field can be set to something absurd.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from picker.gguf import GGUFError, GGUFHeader, parse_header, read_header
from tests.gguf_samples import write_llama

T_UINT32, T_STRING, T_ARRAY, T_UINT8 = 4, 8, 9, 0
F32, Q8_0 = 0, 8


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def gstr(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return u64(len(raw)) + raw


def kv(key: str | bytes, vtype: int, payload: bytes) -> bytes:
    return gstr(key) + u32(vtype) + payload


def kv_u32(key: str, value: int) -> bytes:
    return kv(key, T_UINT32, u32(value))


def tensor_info(name: str | bytes, shape: tuple[int, ...], ggml_type: int, offset: int) -> bytes:
    return gstr(name) + u32(len(shape)) + b"".join(u64(d) for d in shape) + u32(ggml_type) + u64(offset)


BASE_KVS = [kv("general.architecture", T_STRING, gstr("llama")), kv_u32("llama.block_count", 1)]
BASE_TENSORS = [tensor_info("a.weight", (32, 2), F32, 0), tensor_info("b.weight", (32,), Q8_0, 256)]


def gguf(
    kvs: list[bytes] | None = None,
    tensors: list[bytes] | None = None,
    *,
    version: int = 3,
    n_tensors: int | None = None,
    n_kv: int | None = None,
    data_bytes: int = 256 + 34,
) -> bytes:
    kvs = BASE_KVS if kvs is None else kvs
    tensors = BASE_TENSORS if tensors is None else tensors
    head = b"GGUF" + u32(version)
    head += u64(len(tensors) if n_tensors is None else n_tensors)
    head += u64(len(kvs) if n_kv is None else n_kv)
    head += b"".join(kvs) + b"".join(tensors)
    head += bytes(-len(head) % 32)
    return head + bytes(data_bytes)


def parse(data: bytes, sized: bool = True) -> GGUFHeader:
    return parse_header(lambda offset, length: data[offset : offset + length], len(data) if sized else None)


def expect_error(data: bytes, pattern: str, offset: int | None, sized: bool = True) -> GGUFError:
    with pytest.raises(GGUFError, match=pattern) as info:
        parse(data, sized)
    assert info.value.offset == offset
    if offset is not None:
        assert f"at byte offset {offset}" in info.value.message
    return info.value


def test_the_base_file_is_valid() -> None:
    assert parse(gguf(version=2)).version == 2  # GGUFv2 has the same layout as v3
    header = parse(gguf())
    assert [t.name for t in header.tensors] == ["a.weight", "b.weight"]
    assert header.weights_bytes == 256 + 34


def test_wrong_magic() -> None:
    expect_error(b"GGML" + gguf()[4:], "not a GGUF file", 0)
    expect_error(b"", "magic runs past the end of the file .* truncated", 0)
    expect_error(b"GG", "truncated", 0, sized=False)


@pytest.mark.parametrize(
    ("version", "pattern"),
    [(1, "unsupported GGUF version 1"), (4, "unsupported GGUF version 4"), (0x03000000, "big-endian")],
)
def test_bad_versions(version: int, pattern: str) -> None:
    expect_error(gguf(version=version), pattern, 4)


def test_every_truncation_is_reported(tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf", n_vocab=300)
    data = path.read_bytes()
    header = read_header(path)
    header_end = header.data_offset
    last = header.tensors[-1]
    data_end = header_end + last.offset + last.n_bytes  # the file's last padding is optional
    cuts = sorted({*range(0, header_end + 64, 7), header_end - 1, header_end, data_end - 1})
    for cut in cuts:
        with pytest.raises(GGUFError) as info:
            parse(data[:cut])
        assert info.value.offset is not None and 0 <= info.value.offset <= max(cut, header_end)
        # Without a known size the tensor data cannot be checked, but the header must be whole.
        if cut < header_end - 31:
            with pytest.raises(GGUFError, match="truncated"):
                parse(data[:cut], sized=False)


def test_absurd_counts_fail_before_reading_on() -> None:
    expect_error(gguf(n_tensors=2**60), "claims 1152921504606846976 tensors", 8)
    expect_error(gguf(n_kv=2**64 - 1), "claims 18446744073709551615 key/values", 16)
    expect_error(gguf(n_tensors=2**60), "claims", 8, sized=False)


def test_counts_above_any_real_model_are_refused() -> None:
    """Bounds that keep the worst hostile header to about a second of work."""
    from picker.gguf.reader import MAX_KEY_VALUES, MAX_TENSORS

    roomy = 16 * 1024 * 1024  # room for far more than the caps
    expect_error(gguf(n_tensors=MAX_TENSORS + 1, data_bytes=roomy), f"claims {MAX_TENSORS + 1} tensors", 8)
    expect_error(gguf(n_kv=MAX_KEY_VALUES + 1, data_bytes=roomy), f"claims {MAX_KEY_VALUES + 1} key", 16)


def test_a_one_terabyte_string() -> None:
    key = u64(2**40) + b"general.architecture"
    data = gguf([key])
    expect_error(data, "metadata key is 1099511627776 bytes long", 24)
    value = kv("general.name", T_STRING, u64(2**40) + b"x")
    value_at = 24 + len(gstr("general.name")) + 4
    for sized in (True, False):
        error = expect_error(gguf([value]), "is 1099511627776 bytes long, more than the", value_at, sized)
        assert "value of 'general.name'" in error.message
    longer_than_file = kv("general.name", T_STRING, u64(10_000) + b"x")
    expect_error(gguf([longer_than_file]), "runs past the end of the file", value_at + 8)


def test_unknown_value_types() -> None:
    expect_error(gguf([kv("k", 13, u32(0))]), "unknown value type 13", 24 + 9)
    expect_error(gguf([kv("k", 0xFFFFFFFF, b"")]), "unknown value type 4294967295", 24 + 9)
    array = kv("k", T_ARRAY, u32(99) + u64(1))
    expect_error(gguf([array]), "element type of value of 'k' has unknown value type 99", 24 + 9 + 4)


def test_arrays_of_arrays_and_absurd_array_lengths() -> None:
    nested = kv("k", T_ARRAY, u32(T_ARRAY) + u64(1) + u32(T_UINT8) + u64(1) + b"\x00")
    expect_error(gguf([nested]), "array of arrays", 24 + 9 + 4)
    huge = kv("k", T_ARRAY, u32(T_UINT32) + u64(2**62))
    expect_error(gguf([huge]), "claims 4611686018427387904 elements", 24 + 9 + 4)
    strings = kv("k", T_ARRAY, u32(T_STRING) + u64(2**61))
    expect_error(gguf([strings]), "claims 2305843009213693952 elements", 24 + 9 + 4, sized=False)


def test_absurd_string_lengths_inside_a_skipped_token_list() -> None:
    n = 20_000  # above the keep limit, so the list is skipped, not decoded
    tokens = [gstr(f"t{i}") for i in range(n)]
    bad_index = 12_345
    tokens[bad_index] = u64(2**64 - 1) + b"x"
    bad_at = 24 + len(gstr("tokenizer.ggml.tokens")) + 4 + 4 + 8 + sum(map(len, tokens[:bad_index]))
    array = kv("tokenizer.ggml.tokens", T_ARRAY, u32(T_STRING) + u64(n) + b"".join(tokens))
    for sized in (True, False):
        error = expect_error(gguf([array]), f"string {bad_index} of", bad_at, sized)
        assert "tokenizer.ggml.tokens" in error.message


def test_non_utf8_names() -> None:
    expect_error(gguf([kv(b"bad\xff\xfekey", T_UINT32, u32(1))]), "metadata key is not valid UTF-8", 24)
    tensors = [tensor_info(b"w\xc3", (32,), F32, 0)]
    at = 24 + sum(map(len, BASE_KVS))
    expect_error(gguf(tensors=tensors), "name of tensor 0 is not valid UTF-8", at)


def test_non_utf8_string_values_are_kept_readable() -> None:
    header = parse(gguf([*BASE_KVS, kv("general.name", T_STRING, gstr(b"caf\xe9"))]))
    assert header.metadata["general.name"] == "caf\ufffd"


def _tensor_error(tensor: bytes, pattern: str, field_offset: int, sized: bool = True) -> None:
    at = 24 + sum(map(len, BASE_KVS))
    expect_error(gguf(tensors=[tensor]), pattern, at + field_offset, sized)


def test_bad_tensor_infos() -> None:
    name = len(gstr("t"))
    _tensor_error(tensor_info("t", (1, 1, 1, 1, 1), F32, 0), "5 dimensions", name)
    _tensor_error(tensor_info("t", (2**40, 2**30), F32, 0), "too many elements", name)
    _tensor_error(tensor_info("t", (2**64 - 5,), F32, 0), "negative dimension", name)
    _tensor_error(tensor_info("t", (32,), 4, 0), "unknown ggml type 4", name + 4 + 8)
    _tensor_error(tensor_info("t", (32,), 0xFFFFFFFF, 0), "unknown ggml type", name + 4 + 8)
    _tensor_error(tensor_info("t", (33,), Q8_0, 0), "not a multiple of the block size 32", name + 4 + 8)
    _tensor_error(tensor_info("x" * 64, (32,), F32, 0), "64 bytes long, more than the 63", 0)


def test_offsets_past_the_end_and_out_of_order() -> None:
    at = 24 + sum(map(len, BASE_KVS))
    second = at + len(BASE_TENSORS[0])
    expect_error(gguf(data_bytes=100), "data of tensor 'a.weight' ends at", at)
    expect_error(gguf(data_bytes=256 + 33), "data of tensor 'b.weight' ends at", second)
    moved = [BASE_TENSORS[0], tensor_info("b.weight", (32,), Q8_0, 2**63)]
    expect_error(gguf(tensors=moved), "has data offset 9223372036854775808, expected 256", second)
    overlapping = [BASE_TENSORS[0], tensor_info("b.weight", (32,), Q8_0, 0)]
    expect_error(gguf(tensors=overlapping), "expected 256", second)


def test_data_section_past_the_end() -> None:
    infos_end = 24 + sum(map(len, BASE_KVS)) + sum(map(len, BASE_TENSORS))
    assert infos_end % 32  # so the aligned data section starts after the cut
    aligned = infos_end + (-infos_end % 32)
    expect_error(gguf()[:infos_end], f"tensor data would start at {aligned}", aligned)


def test_duplicates_and_alignment() -> None:
    expect_error(gguf([*BASE_KVS, kv_u32("llama.block_count", 2)]), "duplicate metadata key", 24 + sum(
        map(len, BASE_KVS)
    ))
    at = 24 + sum(map(len, BASE_KVS))
    expect_error(gguf(tensors=[BASE_TENSORS[0], BASE_TENSORS[0]]), "duplicate tensor name", at + len(
        BASE_TENSORS[0]
    ))
    for bad in (0, 3, 2**31):
        expect_error(gguf([*BASE_KVS, kv_u32("general.alignment", bad)]), f"alignment {bad} is not", None)
    as_string = kv("general.alignment", T_STRING, gstr("32"))
    expect_error(gguf([*BASE_KVS, as_string]), "is a string; llama.cpp requires a uint32", at)
    assert parse(gguf([*BASE_KVS, kv_u32("general.alignment", 64)], data_bytes=1024)).alignment == 64


def test_local_files_report_their_name_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "hostile.gguf"
    path.write_bytes(gguf(n_tensors=2**60))
    with pytest.raises(GGUFError, match=r"hostile\.gguf: header claims .* \(at byte offset 8\)"):
        read_header(path)


HOSTILE: list[tuple[str, Callable[[], bytes]]] = [
    ("terabyte key", lambda: gguf([u64(2**40) + b"k"])),
    ("huge array", lambda: gguf([kv("k", T_ARRAY, u32(T_UINT32) + u64(2**62))])),
    ("huge string array", lambda: gguf([kv("k", T_ARRAY, u32(T_STRING) + u64(2**61))])),
    ("many tensors", lambda: gguf(n_tensors=2**60)),
    ("many kvs", lambda: gguf(n_kv=2**60)),
]


@pytest.mark.parametrize(("label", "build"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_absurd_claims_allocate_little_and_return_fast(label: str, build: Callable[[], bytes]) -> None:
    data = build()
    for sized in (True, False):
        tracemalloc.start()
        started = time.perf_counter()
        with pytest.raises(GGUFError):
            parse(data, sized)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 4 * 1024 * 1024, label
        assert elapsed < 5, label
