"""How long a llama.cpp child may take to load a model and to answer.

What it loads with is `picker.llama_settings.LlamaSettings`, shared with the memory plan.
"""

from __future__ import annotations

from dataclasses import dataclass

# A load reads the whole file when layers go to a GPU: allow a slow disk's pace.
_SLOWEST_READ_BYTES_PER_SECOND = 50 * 1000 * 1000
_MIN_LOAD_SECONDS = 300.0


def default_load_seconds(file_size_bytes: int) -> float:
    """At least 5 minutes; more for files too big to read in that time at 50 MB/s."""
    return max(_MIN_LOAD_SECONDS, file_size_bytes / _SLOWEST_READ_BYTES_PER_SECOND)


@dataclass(frozen=True)
class RuntimeLimits:
    """Wall-clock limits after which the child is killed."""

    load_seconds: float = _MIN_LOAD_SECONDS  # process start + import + model load
    generation_seconds: float = 300.0  # one answer, first token to last

    @classmethod
    def for_file(cls, file_size_bytes: int, load_seconds: float | None = None,
                 generation_seconds: float | None = None) -> RuntimeLimits:
        """The user's limits where given, else defaults sized to the model file."""
        return cls(
            load_seconds=load_seconds or default_load_seconds(file_size_bytes),
            generation_seconds=generation_seconds or cls.generation_seconds,
        )
