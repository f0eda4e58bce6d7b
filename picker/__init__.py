"""picker: a local, hardware-aware picker for open LLMs and their GGUF quantizations."""

__version__ = "0.1.0"

# Bumped when a JSON document's keys change incompatibly; every document carries it.
SCHEMA_VERSION = 1
