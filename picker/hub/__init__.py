"""Downloads from the Hugging Face Hub that resume across processes and verify the sha256.

- `download_target("hf://OWNER/REPO/FILE.gguf[@REV]")` or, for the catalog,
  `download_files(HubFiles(repo_id, filenames, revision, expected_sizes))`; both return
  a `DownloadResult` (`.path`, `.files`, `.to_json()`).
- The TUI runs either in a worker thread with `progress=callback` (a `ProgressEvent`
  per step, at most ~10 per second, called from that thread) and `cancel=threading.Event()`;
  a cancel keeps the partial file for the next run, like Ctrl-C.
- Every failure is a `picker.errors.PickerError` with one line saying what to do.

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
