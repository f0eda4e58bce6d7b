"""The OS name, release, node and machine without importing `platform` (~2.5 ms).

On POSIX, `platform.system()`, `release()`, `node()` and `machine()` are the fields
of `os.uname()`; elsewhere (Windows) these fall back to `platform` itself.
"""

from __future__ import annotations

import os


def _field(name: str) -> str:
    if hasattr(os, "uname"):
        return str(getattr(os.uname(), name))
    import platform

    return str(getattr(platform.uname(), {"sysname": "system", "nodename": "node"}.get(name, name)))


def system() -> str:
    """As `platform.system()`: "Linux", "Darwin", ..."""
    return _field("sysname")


def release() -> str:
    """As `platform.release()`: the kernel release."""
    return _field("release")


def node() -> str:
    """As `platform.node()`: the host name."""
    return _field("nodename")


def machine() -> str:
    """As `platform.machine()`: "x86_64", "arm64", ..."""
    return _field("machine")
