"""Downloads from the Hugging Face Hub that resume across processes and verify the sha256.

Importing this package is cheap: huggingface_hub is loaded only when a download starts.
"""

from __future__ import annotations

from picker.hub.download import DownloadResult, FileResult, download_files, download_target
from picker.hub.progress import ProgressCallback, ProgressEvent
from picker.hub.settings import RetryPolicy
from picker.hub.target import HubFiles, parse_target

__all__ = [
    "DownloadResult",
    "FileResult",
    "HubFiles",
    "ProgressCallback",
    "ProgressEvent",
    "RetryPolicy",
    "download_files",
    "download_target",
    "parse_target",
]
