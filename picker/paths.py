"""Where picker keeps its data, cache and config.

The platform's conventions by default (platformdirs: XDG on Linux, ~/Library on
macOS, AppData on Windows); one `PICKER_HOME` variable moves all three under a
single folder, which is how the tests keep away from a real home.
"""

import os
from pathlib import Path

from picker.namedrecord import NamedRecord

APP_NAME = "picker"
HOME_ENV = "PICKER_HOME"
# In data_dir. Named here, not in picker.history.store, so that the ranking can look for it
# without importing the store (and sqlite3).
HISTORY_DATABASE_NAME = "history.sqlite3"


class PickerPaths(NamedRecord):
    data_dir: Path  # history database, user catalog additions, downloaded models
    cache_dir: Path  # measured CPU bandwidth, catalog refresh overlay
    config_dir: Path  # settings a user edits

    @property
    def models_dir(self) -> Path:
        """Picker's own model folder (used when a download is not sent to the HF cache)."""
        return self.data_dir / "models"


def picker_paths() -> PickerPaths:
    """The folders for this user, honouring PICKER_HOME. Creates nothing."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return PickerPaths(root / "data", root / "cache", root / "config")
    import platformdirs

    return PickerPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
    )


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, by huggingface_hub's own rules, without importing it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home).expanduser() / "huggingface" / "hub"


def models_download_dir() -> Path:
    """Where downloads land by default: the Hugging Face cache, so other tools see them."""
    return hf_cache_dir()
