"""GGUF headers: read fast from local files and the Hub, safely from hostile ones."""

from picker.gguf.local import read_header
from picker.gguf.model import GGUFArray, GGUFError, GGUFHeader, TensorInfo
from picker.gguf.reader import parse_header
from picker.gguf.remote import read_hub_header

__all__ = [
    "GGUFArray",
    "GGUFError",
    "GGUFHeader",
    "TensorInfo",
    "parse_header",
    "read_header",
    "read_hub_header",
]
