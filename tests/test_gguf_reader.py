"""The GGUF header reader against llama.cpp's own Python reader, on generated and real files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from picker.errors import NotFoundError
from picker.gguf import GGUFArray, GGUFError, GGUFHeader, parse_header, read_header
from picker.gguf.reader import KEEP_ARRAY_MAX
from tests.gguf_samples import write_llama


def _reference_value(field: Any) -> Any:
    """A gguf.ReaderField's value in our representation."""
    contents = field.contents()
    if field.types[0] == gguf.GGUFValueType.ARRAY:
        return GGUFArray(int(field.types[1]), len(field.data), None), contents
    return contents, None


def assert_matches_reference(header: GGUFHeader, path: Path) -> None:
    ref = gguf.GGUFReader(path)
    assert header.data_offset == ref.data_offset
    assert header.alignment == ref.alignment
    ref_fields = {k: f for k, f in ref.fields.items() if not k.startswith("GGUF.")}
    assert list(header.metadata) == list(ref_fields)
    for key, field in ref_fields.items():
        ours = header.metadata[key]
        expected, array_values = _reference_value(field)
        if isinstance(expected, GGUFArray):
            assert isinstance(ours, GGUFArray), key
            assert (ours.element_type, ours.length) == (expected.element_type, expected.length)
            if ours.length <= KEEP_ARRAY_MAX:
                assert ours.values is not None
                _assert_values_equal(list(ours.values), array_values, key)
            else:
                assert ours.values is None
        else:
            _assert_values_equal(ours, expected, key)
    assert len(header.tensors) == len(ref.tensors)
    for ours_t, ref_t in zip(header.tensors, ref.tensors, strict=True):
        assert ours_t.name == ref_t.name
        assert ours_t.shape == tuple(int(d) for d in ref_t.shape)
        assert ours_t.ggml_type == int(ref_t.tensor_type)
        assert ours_t.type_name == ref_t.tensor_type.name
        assert header.data_offset + ours_t.offset == ref_t.data_offset
        assert ours_t.n_bytes == int(ref_t.n_bytes)
        assert ours_t.n_elements == int(ref_t.n_elements)


def _assert_values_equal(ours: Any, expected: Any, key: str) -> None:
    if isinstance(expected, list):
        assert len(ours) == len(expected), key
        for a, b in zip(ours, expected, strict=True):
            _assert_values_equal(a, b, key)
    elif isinstance(expected, float | np.floating):
        assert math.isclose(ours, float(expected), rel_tol=1e-7), key
    else:
        assert ours == expected, key
        assert type(ours) is type(expected) or not isinstance(expected, bool), key


@pytest.mark.parametrize("weight_type", ["F16", "Q8_0", "Q4_K", "Q6_K", "IQ4_NL", "BF16"])
def test_generated_model_matches_gguf_reader(tmp_path: Path, weight_type: str) -> None:
    n_embd = 256 if weight_type in ("Q4_K", "Q6_K") else 64
    (path,) = write_llama(
        tmp_path / "m.gguf",
        n_embd=n_embd,
        n_ff=512,
        weight_type=weight_type,
        extra_kv={
            "llama.attention.sliding_window_pattern": [True, False, True],
            "llama.attention.head_count_kv_per_layer": [2, 0, 4],
            "test.f64": (2.5, gguf.GGUFValueType.FLOAT64),
            "test.i64": (-(2**40), gguf.GGUFValueType.INT64),
            "test.u8": (7, gguf.GGUFValueType.UINT8),
            "test.i16": (-3, gguf.GGUFValueType.INT16),
            "test.strings": ["a", "ü", ""],
            "tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        },
    )
    header = read_header(path)
    assert_matches_reference(header, path)
    assert header.architecture == "llama"
    assert header.arch_value("block_count") == 2
    assert header.arch_value("missing", 5) == 5
    assert header.file_size_bytes == path.stat().st_size
    assert header.weights_bytes == sum(t.n_bytes for t in header.tensors)
    assert header.split_count == 1
    assert header.metadata["test.strings"].values == ("a", "ü", "")


def test_headers_pickle_for_worker_processes(tmp_path: Path) -> None:
    import pickle

    (path,) = write_llama(tmp_path / "m.gguf")
    header = read_header(path)
    assert pickle.loads(pickle.dumps(header)) == header


def test_large_arrays_keep_only_their_length(tmp_path: Path) -> None:
    n_vocab = KEEP_ARRAY_MAX + 500
    (path,) = write_llama(tmp_path / "big-vocab.gguf", n_vocab=n_vocab)
    header = read_header(path)
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens == GGUFArray(gguf.GGUFValueType.STRING, n_vocab, None)
    assert header.metadata["tokenizer.ggml.scores"].length == n_vocab
    assert header.metadata["tokenizer.ggml.scores"].values is None


def test_gemma_header_is_complete_without_decoding_the_vocabulary(gemma_gguf_path: Path) -> None:
    """(Its speed is measured by benchmarks/bench_gguf.py, not asserted here.)"""
    header = read_header(gemma_gguf_path)
    assert header.header_bytes_read < 2 * header.data_offset  # read the header, not the weights
    assert header.architecture == "gemma3"
    assert header.arch_value("block_count") == 18
    assert header.arch_value("attention.sliding_window") == 512
    assert header.metadata["tokenizer.ggml.tokens"].length == 262_144
    assert header.file_size_bytes == 253_113_024
    assert len(header.tensors) == 236
    last = header.tensors[-1]
    assert header.data_offset + last.offset + last.n_bytes <= header.file_size_bytes
    assert {t.type_name for t in header.tensors} >= {"Q8_0", "Q4_K", "F32"}


@pytest.fixture(scope="module")
def long_vocab_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vocabulary long enough to be skipped, with some tokens too long for the fast path."""
    folder = tmp_path_factory.mktemp("long-vocab")
    (path,) = write_llama(folder / "m.gguf", n_vocab=3 * KEEP_ARRAY_MAX, long_token_every=97)
    return path


def test_long_vocabulary_matches_gguf_reader(long_vocab_path: Path) -> None:
    header = read_header(long_vocab_path)
    assert header.metadata["tokenizer.ggml.tokens"].length == 3 * KEEP_ARRAY_MAX
    assert_matches_reference(header, long_vocab_path)


@pytest.mark.parametrize("initial_read_bytes", [1, 37, 4096, 1 << 20])
def test_any_read_size_gives_the_same_header(long_vocab_path: Path, initial_read_bytes: int) -> None:
    """Refills land inside token runs, long tokens and tensor infos alike."""
    data = long_vocab_path.read_bytes()
    header = parse_header(
        lambda offset, length: data[offset : offset + length],
        len(data),
        initial_read_bytes=initial_read_bytes,
    )
    expected = read_header(long_vocab_path)
    assert header.tensors == expected.tensors
    assert header.metadata == expected.metadata
    assert header.data_offset == expected.data_offset


def test_gemma_tensor_table_tiles_the_data_section(gemma_gguf_path: Path) -> None:
    """gguf.GGUFReader needs ~10 s on this file, so check the real file's own invariant
    instead: tensors follow each other, aligned, and the last one ends the file."""
    header = read_header(gemma_gguf_path)
    position = 0
    for t in header.tensors:
        assert t.offset == position
        assert t.n_bytes * 8 == t.n_elements * {"F32": 32, "Q8_0": 8.5, "Q4_K": 4.5,
                                                 "Q5_0": 5.5, "Q6_K": 6.5625}[t.type_name]
        position += -(-t.n_bytes // header.alignment) * header.alignment
    last = header.tensors[-1]
    assert header.data_offset + last.offset + last.n_bytes == header.file_size_bytes


def test_split_model_is_combined_from_any_part(tmp_path: Path) -> None:
    parts = write_llama(tmp_path / "split.gguf", split_max_tensors=8)
    assert len(parts) == 3
    for part in parts:
        header = read_header(part)
        assert header.split_count == 3
        assert len(header.tensors) == 21
        assert header.file_size_bytes == sum(p.stat().st_size for p in parts)
        assert header.architecture == "llama"
        assert [t.split_index for t in header.tensors] == [0] * 8 + [1] * 8 + [2] * 5
    single = write_llama(tmp_path / "single.gguf")[0]
    assert [t.n_bytes for t in read_header(parts[0]).tensors] == [
        t.n_bytes for t in read_header(single).tensors
    ]


def test_files_named_like_parts_must_be_parts(tmp_path: Path) -> None:
    (single,) = write_llama(tmp_path / "single.gguf")
    for i in (1, 2):
        (tmp_path / f"fake-0000{i}-of-00002.gguf").write_bytes(single.read_bytes())
    with pytest.raises(GGUFError, match=r"fake-00001-of-00002\.gguf: split\.no=None.*part 0 of 2"):
        read_header(tmp_path / "fake-00002-of-00002.gguf")


def test_missing_split_part_is_not_found(tmp_path: Path) -> None:
    parts = write_llama(tmp_path / "split.gguf", split_max_tensors=8)
    parts[1].unlink()
    with pytest.raises(NotFoundError, match="00002-of-00003"):
        read_header(parts[0])


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_header(tmp_path / "nope.gguf")


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGML" + bytes(100))
    with pytest.raises(GGUFError, match=r"bad\.gguf: not a GGUF file") as info:
        read_header(bad)
    assert info.value.offset == 0
    assert info.value.code == "gguf"


def test_parse_header_reads_in_growing_chunks(tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf", n_vocab=3000)
    data = path.read_bytes()
    requests: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        requests.append((offset, length))
        return data[offset : offset + length]

    header = parse_header(read_at, None, initial_read_bytes=1024)
    assert header.data_offset == read_header(path).data_offset
    assert header.header_bytes_read == sum(len(data[o : o + n]) for o, n in requests)
    assert header.header_bytes_read < 2 * header.data_offset + 1024
    offsets = [o for o, _ in requests]
    assert offsets == sorted(set(offsets))  # never fetches the same bytes twice
    lengths = [n for _, n in requests]
    assert lengths[1] >= 2 * lengths[0] - 1024  # geometric growth
