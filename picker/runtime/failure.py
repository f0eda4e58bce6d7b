"""Turn llama.cpp's own log into one line that says why a model failed.

llama-cpp-python only raises "Failed to load model from file"; the real reason
(unknown architecture, truncated data, a failed allocation, an internal assert)
is in the log the child wrote to stderr. The buffer-size lines are read by
picker.memory.llama_log; this module only looks for the failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal["memory", "unsupported", "corrupt", "internal", "other"]


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    reason: str  # one line, already phrased for the user


_PREFIX_RE = re.compile(r"^[A-Za-z_][\w:]*:\s+")  # `llama_model_load: ` and the like


def _bare(line: str) -> str:
    bare = _PREFIX_RE.sub("", line.strip(), count=1)
    return bare.removeprefix("error loading model: ")


def _assert(match: re.Match[str], line: str) -> str:
    where = match["file"].replace("\\", "/").rsplit("/", 1)[-1]
    return f"llama.cpp stopped on an internal check: GGML_ASSERT({match['cond']}) failed ({where})"


Rule = tuple[FailureKind, re.Pattern[str], Callable[[re.Match[str], str], str]]

# First rule that matches any line wins: the most specific cause first.
_RULES: tuple[Rule, ...] = (
    ("memory", re.compile(
        r"failed to allocate|out of memory|cudaMalloc failed|unable to allocate|"
        r"ErrorOutOfDeviceMemory|insufficient memory", re.IGNORECASE),
     lambda m, line: f"not enough memory for this model at these settings: {_bare(line)}; "
                     "try a smaller context (--ctx) or fewer GPU layers"),
    ("unsupported", re.compile(r"unknown model architecture: '(?P<arch>[^']*)'"),
     lambda m, line: f"this llama.cpp does not support the model architecture '{m['arch']}' "
                     "(a newer llama-cpp-python may)"),
    ("unsupported", re.compile(r"unknown (pre-tokenizer|tokenizer) type|unsupported model", re.I),
     lambda m, line: f"this llama.cpp cannot load the model: {_bare(line)}"),
    ("corrupt", re.compile(r"not within the file bounds|incomplete|unexpected end of file|"
                           r"failed to read", re.IGNORECASE),
     lambda m, line: f"the model file is truncated or corrupted: {_bare(line)}"),
    ("corrupt", re.compile(r"invalid magic|not a gguf|invalid gguf|tensor .* has invalid", re.I),
     lambda m, line: f"not a valid GGUF file: {_bare(line)}"),
    ("internal", re.compile(r"(?P<file>\S+):\d+: GGML_ASSERT\((?P<cond>.*)\) failed"), _assert),
    ("other", re.compile(r"error loading model: (?!llama_model_loader: failed to load)(?P<why>.+)"),
     lambda m, line: f"llama.cpp could not load the model: {m['why'].strip()}"),
    ("other", re.compile(r"\berror\b|\bfailed\b", re.IGNORECASE),
     lambda m, line: f"llama.cpp: {_bare(line)}"),
)


def failure_from_log(lines: Sequence[str]) -> Failure | None:
    """The clearest failure llama.cpp logged, or None when the log shows none."""
    for kind, pattern, phrase in _RULES:
        for line in lines:
            match = pattern.search(line)
            if match:
                return Failure(kind, " ".join(phrase(match, line).split()))
    return None


_SIGNALS = {
    6: "aborted (SIGABRT)",
    9: "was killed (SIGKILL; on Linux often the out-of-memory killer)",
    11: "crashed (segmentation fault)",
    15: "was terminated (SIGTERM)",
}


def describe_exit(returncode: int | None) -> str:
    """How the child ended, for people."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        return _SIGNALS.get(-returncode, f"ended on signal {-returncode}")
    return f"exited with status {returncode}"
