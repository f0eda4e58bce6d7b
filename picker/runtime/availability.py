"""Whether llama-cpp-python is installed, and how to install it when it is not.

It is compiled from source and heavy, so it is optional: everything but the
smoke test and chat works without it. The check only looks for the module; it
never imports it (that takes a third of a second and loads native code).
"""

from __future__ import annotations

import importlib.util

from picker.errors import RuntimeFailureError

INSTALL_HINT = (
    'llama-cpp-python is not installed; install it with `pip install "llama-cpp-python==0.3.36"` '
    "(CPU), or build for your GPU with CMAKE_ARGS set: "
    'CUDA `CMAKE_ARGS="-DGGML_CUDA=on"`, Metal `CMAKE_ARGS="-DGGML_METAL=on"`, '
    'Vulkan `CMAKE_ARGS="-DGGML_VULKAN=on"`, ROCm `CMAKE_ARGS="-DGGML_HIP=on"`'
)


class LlamaCppMissingError(RuntimeFailureError):
    code = "llama_cpp_missing"


def llama_cpp_available() -> bool:
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        return False


def require_llama_cpp(detail: str = "") -> None:
    """Raise the one-line install hint unless llama_cpp can be imported (or `detail` says it broke)."""
    if detail:
        raise LlamaCppMissingError(f"llama-cpp-python could not be imported ({detail}); {INSTALL_HINT}")
    if not llama_cpp_available():
        raise LlamaCppMissingError(INSTALL_HINT)
