"""Property test: mutated REAL headers give a GGUFHeader or a GGUFError, never anything else.

Samples: files written by the `gguf` package (llama.cpp's writer), one with a token
list long enough to take the skipping path, and a slice of the real Gemma 3 270M
header (its key/values, its first 9,000 real tokens and all 236 tensor infos).
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import gguf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picker.gguf import GGUFError, GGUFHeader, parse_header, read_header
from picker.gguf.reader import KEEP_ARRAY_MAX
from tests.gguf_samples import write_llama

GEMMA_TOKENS_KEPT = 9_000  # above KEEP_ARRAY_MAX: the slice still exercises the skipping path


def _gstr(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gemma_header_slice(path: Path) -> bytes:
    """A valid GGUF header made of the real Gemma file's own bytes, minus most of the vocabulary."""
    header = read_header(path)
    with path.open("rb") as f:
        data = f.read(header.data_offset)
    keys = list(header.metadata)
    tokens_record = _gstr("tokenizer.ggml.tokens")
    tokens_kv = data.find(tokens_record)
    first_token = tokens_kv + len(tokens_record) + 4 + 4 + 8
    end = first_token
    for _ in range(GEMMA_TOKENS_KEPT):
        end += 8 + struct.unpack_from("<Q", data, end)[0]
    first_info = data.rfind(_gstr(header.tensors[0].name))
    last = header.tensors[-1]
    last_info = data.rfind(_gstr(last.name))
    infos_end = last_info + len(_gstr(last.name)) + 4 + 8 * len(last.shape) + 4 + 8
    out = b"GGUF" + struct.pack("<IQQ", 3, len(header.tensors), keys.index("tokenizer.ggml.tokens") + 1)
    out += data[24:tokens_kv]
    out += tokens_record + struct.pack("<IIQ", 9, 8, GEMMA_TOKENS_KEPT) + data[first_token:end]
    out += data[first_info:infos_end]
    return out + bytes(-len(out) % header.alignment)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory, gemma_gguf_path: Path) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz-samples")
    (small,) = write_llama(
        folder / "small.gguf",
        n_vocab=300,
        extra_kv={
            "llama.attention.head_count_kv_per_layer": [2, 0],
            "test.f64": (2.5, gguf.GGUFValueType.FLOAT64),
            "test.i64": (-7, gguf.GGUFValueType.INT64),
            "test.flags": [True, False],
            "tokenizer.chat_template": "{{ messages }}",
        },
    )
    (big_vocab,) = write_llama(folder / "big-vocab.gguf", n_vocab=KEEP_ARRAY_MAX + 100, weight_type="F16")
    return {
        "small": small.read_bytes(),
        "big-vocab": big_vocab.read_bytes(),
        "gemma-slice": gemma_header_slice(gemma_gguf_path),
    }


def parse(data: bytes, sized: bool) -> GGUFHeader:
    return parse_header(lambda offset, length: data[offset : offset + length], len(data) if sized else None)


def test_the_samples_are_valid(samples: dict[str, bytes], gemma_gguf_path: Path) -> None:
    for name, data in samples.items():
        header = parse(data, sized=name != "gemma-slice")
        assert header.tensors
    gemma = read_header(gemma_gguf_path)
    sliced = parse(samples["gemma-slice"], sized=False)
    assert sliced.tensors == gemma.tensors
    assert sliced.metadata["tokenizer.ggml.tokens"].length == GEMMA_TOKENS_KEPT
    assert sliced.arch_value("block_count") == 18


INTERESTING_64 = [0, 1, 7, 8, 63, 64, 255, 2**31, 2**32 - 1, 2**32, 2**40, 2**60, 2**63 - 1, 2**63, 2**64 - 1]
INTERESTING_32 = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 30, 31, 42, 2**16, 2**31, 2**32 - 1]

# >= 0: from the start of the file; < 0: back from the end of the tensor infos
positions = st.one_of(st.integers(0, 64), st.integers(0, 1 << 22), st.integers(-4096, -1))
u32s = st.one_of(st.sampled_from(INTERESTING_32), st.integers(0, 2**32 - 1))
u64s = st.one_of(st.sampled_from(INTERESTING_64), st.integers(0, 2**64 - 1))
mutations = st.one_of(
    st.tuples(st.just("byte"), positions, st.integers(0, 255)),
    st.tuples(st.just("u32"), positions, u32s),
    st.tuples(st.just("u64"), positions, u64s),
    st.tuples(st.just("truncate"), positions, st.just(0)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("insert"), positions, st.integers(0, 2**64 - 1)),
)


def mutate(data: bytes, changes: list[tuple[str, int, int]], header_end: int) -> bytes:
    out = bytearray(data)
    for kind, position, value in changes:
        at = (position if position >= 0 else header_end + position) % max(len(out), 1)
        if kind == "byte" and out:
            out[at] = value
        elif kind == "u32":
            out[at : at + 4] = struct.pack("<I", value)
        elif kind == "u64":
            out[at : at + 8] = struct.pack("<Q", value)
        elif kind == "truncate":
            del out[at:]
        elif kind == "delete":
            del out[at : at + value]
        elif kind == "insert":
            out[at:at] = struct.pack("<Q", value)
    return bytes(out)


HEADER_ENDS: dict[str, int] = {}  # per sample, computed once


def check(data: bytes, sized: bool) -> bool:
    """True: a header that holds together; False: a one-line GGUFError (anything else raises)."""
    try:
        header = parse(data, sized)
    except GGUFError as error:
        assert error.offset is None or error.offset >= 0
        assert error.message and "\n" not in error.message
        return False
    assert header.data_offset % header.alignment == 0
    assert header.header_bytes_read <= len(data)
    assert all(t.n_bytes >= 0 and len(t.shape) <= 4 for t in header.tensors)
    if sized:
        assert all(header.data_offset + t.offset + t.n_bytes <= len(data) for t in header.tensors)
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["small", "big-vocab", "gemma-slice"]),
    changes=st.lists(mutations, min_size=1, max_size=6),
    sized=st.booleans(),
)
def test_mutated_real_headers(
    samples: dict[str, bytes], name: str, changes: list[tuple[str, int, int]], sized: bool
) -> None:
    data = samples[name]
    if name not in HEADER_ENDS:
        HEADER_ENDS[name] = parse(data, sized=False).data_offset
    check(mutate(data, changes, HEADER_ENDS[name]), sized)


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=600), version=st.sampled_from([2, 3]), sized=st.booleans())
def test_random_bytes_after_a_valid_preamble(tail: bytes, version: int, sized: bool) -> None:
    check(b"GGUF" + struct.pack("<I", version) + tail, sized)


SEEDED_MUTATIONS = 5000


def _random_change(rng: random.Random) -> tuple[str, int, int]:
    kind = rng.choice(["byte", "u32", "u64", "truncate", "delete", "insert"])
    position = rng.choice([rng.randrange(65), rng.randrange(1 << 22), -rng.randrange(1, 4097)])
    if kind == "byte":
        value = rng.randrange(256)
    elif kind == "u32":
        value = rng.choice([*INTERESTING_32, rng.randrange(2**32)])
    elif kind in ("u64", "insert"):
        value = rng.choice([*INTERESTING_64, rng.randrange(2**64)])
    elif kind == "delete":
        value = rng.randrange(1, 65)
    else:
        value = 0
    return kind, position, value


def test_thousands_of_seeded_mutations_give_only_headers_or_gguf_errors(samples: dict[str, bytes]) -> None:
    """The same mutations on every run (a fixed seed), so a failure reproduces; each mutated
    header parses or fails with a one-line GGUFError, nothing else."""
    rng = random.Random(18_23)
    names = sorted(samples)
    for name in names:
        HEADER_ENDS.setdefault(name, parse(samples[name], sized=False).data_offset)
    outcomes = {"header": 0, "error": 0}
    for _ in range(SEEDED_MUTATIONS):
        name = rng.choice(names)
        changes = [_random_change(rng) for _ in range(rng.randint(1, 6))]
        data = mutate(samples[name], changes, HEADER_ENDS[name])
        sized = rng.random() < 0.5
        try:
            outcomes["header" if check(data, sized) else "error"] += 1
        except AssertionError:
            raise
        except Exception as error:  # anything but GGUFError is the failure this test looks for
            raise AssertionError(f"{type(error).__name__} from {name} with {changes} "
                                 f"(sized={sized}): {error}") from error
    assert outcomes["error"] > SEEDED_MUTATIONS // 2 and outcomes["header"] > 0, outcomes
