"""SHA-256 whose running state can be saved to disk, so a resumed download need not re-hash its prefix.

`hashlib` cannot export its state. On Linux the OpenSSL library Python already loaded
for `hashlib` exposes the classic `SHA256_Init/Update/Final` calls whose context is a
plain 112-byte struct: saving those bytes next to the `.part` file lets the next process
continue hashing where the last one stopped. Elsewhere (or if a self-test fails) the
state is simply not saveable and the prefix is re-hashed from disk. Either way the
finished file is compared with the Hub's sha256, so a stale state can only cost a retry.
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
import sys
from functools import cache
from typing import Protocol

_CTX_BYTES = 112  # SHA256_CTX: h[8], Nl, Nh, data[16], num, md_len (all 32-bit)
_CTX_BUFFER_BYTES = 256  # room to spare in case a build pads the struct
_CTX_FIELDS = struct.Struct("=8I2I16I2I")
_BLOCK_BYTES = 64


def saved_state_bytes(state: bytes) -> int | None:
    """How many bytes a saved SHA-256 context has hashed, or None when it is not one this code
    wrote. The context goes back into OpenSSL as raw memory, and OpenSSL trusts its fields:
    a `num` past the 64-byte block makes the next update write outside the context (a crash,
    or worse, from a planted `.part.state`), so every field that sizes a copy is checked."""
    if len(state) != _CTX_BYTES:
        return None
    fields: tuple[int, ...] = _CTX_FIELDS.unpack(state)
    low_bits, high_bits, in_block, digest_bytes = fields[8], fields[9], fields[26], fields[27]
    hashed_bits = high_bits << 32 | low_bits
    if digest_bytes != 32 or hashed_bits % 8 or in_block != hashed_bits // 8 % _BLOCK_BYTES:
        return None
    return hashed_bits // 8


class RunningHash(Protocol):
    def update(self, data: bytes) -> None: ...

    def hexdigest(self) -> str: ...

    def state(self) -> bytes | None: ...


class _HashlibHash:
    """Plain hashlib: fast, but its state cannot be saved."""

    def __init__(self, name: str, prefix: bytes = b"") -> None:
        self._hash = hashlib.new(name)
        if prefix:
            self._hash.update(prefix)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def state(self) -> bytes | None:
        return None


class _OpenSslSha256:
    """SHA-256 through OpenSSL's low-level API, with a context we can copy out and back in."""

    def __init__(self, library: ctypes.CDLL, state: bytes | None = None) -> None:
        self._library = library
        self._context = ctypes.create_string_buffer(_CTX_BUFFER_BYTES)
        if state is None:
            if library.SHA256_Init(self._context) != 1:
                raise OSError("SHA256_Init failed")
        else:
            ctypes.memmove(self._context, state, len(state))

    def update(self, data: bytes) -> None:
        if data and self._library.SHA256_Update(self._context, data, len(data)) != 1:
            raise OSError("SHA256_Update failed")

    def hexdigest(self) -> str:
        digest = ctypes.create_string_buffer(32)
        context_copy = ctypes.create_string_buffer(self._context.raw, _CTX_BUFFER_BYTES)
        if self._library.SHA256_Final(digest, context_copy) != 1:
            raise OSError("SHA256_Final failed")
        return digest.raw.hex()

    def state(self) -> bytes | None:
        return self._context.raw[:_CTX_BYTES]


def _loaded_libcrypto_path() -> str | None:
    """The libcrypto that Python's own `_hashlib` linked (already mapped into this process)."""
    import _hashlib  # noqa: F401  (maps libcrypto into the process)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(" ")[-1]
                if "libcrypto" in path and path.startswith("/"):
                    return path
    except OSError:
        return None
    return None


@cache
def _openssl() -> ctypes.CDLL | None:
    """OpenSSL's SHA-256 if it is loadable here and passes a save/restore self-test."""
    if not sys.platform.startswith("linux"):
        return None  # macOS aborts on unversioned libcrypto loads; Windows: not worth it
    path = _loaded_libcrypto_path()
    if path is None:
        return None
    try:
        library = ctypes.CDLL(path)
        for name in ("SHA256_Init", "SHA256_Update", "SHA256_Final"):
            function = getattr(library, name)
            function.restype = ctypes.c_int
        library.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        sample = bytes(range(256)) * 5
        first = _OpenSslSha256(library)
        first.update(sample[:333])
        saved = first.state()
        resumed = _OpenSslSha256(library, saved)
        resumed.update(sample[333:])
        if resumed.hexdigest() != hashlib.sha256(sample).hexdigest():
            return None
    except (OSError, AttributeError):
        return None
    return library


def new_sha256(state: bytes | None = None) -> RunningHash:
    """A running SHA-256, continued from `state` when one is given (and usable here)."""
    library = _openssl()
    if library is None:
        if state is not None:
            raise ValueError("a saved SHA-256 state cannot be used on this platform")
        return _HashlibHash("sha256")
    if state is not None and saved_state_bytes(state) is None:
        raise ValueError("saved SHA-256 state is not a context this code wrote")
    return _OpenSslSha256(library, state)


def state_saving_available() -> bool:
    return _openssl() is not None


def new_git_blob_sha1(size_bytes: int) -> RunningHash:
    """Git's blob id (sha1 of `blob SIZE\\0` + content): how the Hub names small, non-LFS files."""
    return _HashlibHash("sha1", f"blob {size_bytes}\0".encode())
