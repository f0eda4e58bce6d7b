"""Whether a llama-cpp-python picker can use is installed, and how to install it when it is not.

It is compiled from source and heavy, so it is optional: everything but the smoke test,
chat and `fit --exact` works without it, and picker offers to install it when one of those
first needs it (picker.runtime.install). The check never imports it (that takes a third of
a second and loads native code): it looks for the module and reads the installed version.
"""

from __future__ import annotations

import importlib.util

from picker.errors import RuntimeFailureError

# picker.runtime.install.LLAMA_CPP_PYTHON_VERSION: the version picker is tested with. A later
# 0.3.x release keeps the API picker calls; 0.4 may not.
TESTED_VERSION = (0, 3, 36)
_TESTED = ".".join(map(str, TESTED_VERSION))

INSTALL_HINT = (
    f'llama-cpp-python is not installed; installing it compiles llama.cpp (about 10-15 minutes on '
    f'2 cores): `pip install "llama-cpp-python=={_TESTED}"` (CPU), or for your GPU with CMAKE_ARGS '
    'set: CUDA `CMAKE_ARGS="-DGGML_CUDA=on"`, Metal `CMAKE_ARGS="-DGGML_METAL=on"`, '
    'ROCm `CMAKE_ARGS="-DGGML_HIP=on"`, Vulkan `CMAKE_ARGS="-DGGML_VULKAN=on"`; '
    "`picker smoke` at a terminal offers to do it"
)


class LlamaCppMissingError(RuntimeFailureError):
    code = "llama_cpp_missing"


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if digits != part:
            break
    return tuple(parts)


def installed_version() -> str | None:
    """llama-cpp-python's version from its metadata; None when it has none (a source tree)."""
    from importlib import metadata

    try:
        return metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        return None


def llama_cpp_problem() -> str | None:
    """Why picker cannot use llama_cpp here (missing, or a version it was not made for); None
    when it can."""
    try:
        found = importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return "llama-cpp-python is not installed"
    version = installed_version()
    if version is not None and not TESTED_VERSION <= _version_tuple(version) < (0, 4):
        return (f"llama-cpp-python {version} is installed; picker needs {_TESTED} "
                "or a later 0.3 release")
    return None


def llama_cpp_available() -> bool:
    return llama_cpp_problem() is None


def require_llama_cpp(detail: str = "") -> None:
    """Raise the one-line install hint unless llama_cpp can be imported (or `detail` says it broke)."""
    if detail:
        raise LlamaCppMissingError(f"llama-cpp-python could not be imported ({detail}); {INSTALL_HINT}")
    problem = llama_cpp_problem()
    if problem is not None:
        raise LlamaCppMissingError(INSTALL_HINT if problem.endswith("not installed")
                                   else f"{problem}; {INSTALL_HINT.split('; ', 1)[1]}")
