"""The user's settings: a typed dataclass saved as JSON (with a format version) in the user data directory.

No Qt here: the window, the command line and tests share one loader. Window geometry is the only thing kept
elsewhere (QSettings, by the window). Unknown keys in the file are ignored and invalid values fall back to
their defaults one by one, so a hand-edited or older file never stops the app from starting.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ingest.paths import data_dir

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
SETTINGS_NAME = "settings.json"
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")
MAX_RECENT = 8


@dataclass
class Settings:
    model_folder: str = ""  # "" = the model embedded in resources/
    device: str = "auto"  # auto | cpu | cuda
    top_k: int = 8  # chunks each retrieval query attends to
    answer_length: int = 512  # most tokens in one answer
    theme: str = "system"  # system | light | dark
    recent_projects: list[str] = field(default_factory=list)  # primary root folders, most recent first
    last_project: str = ""  # reopened on start ("" = welcome screen)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first invalid value."""
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.theme not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {self.theme!r}")
        if not 1 <= self.top_k <= 256:
            raise ValueError(f"top-k must be between 1 and 256, not {self.top_k}")
        if not 16 <= self.answer_length <= 8192:
            raise ValueError(f"answer length must be between 16 and 8192 tokens, not {self.answer_length}")

    def remember_project(self, root: str) -> None:
        """Put `root` first in the recent projects and make it the project reopened on start."""
        self.recent_projects = [root, *[r for r in self.recent_projects if r != root]][:MAX_RECENT]
        self.last_project = root

    def forget_project(self, root: str) -> None:
        self.recent_projects = [r for r in self.recent_projects if r != root]
        if self.last_project == root:
            self.last_project = ""

    def to_json(self) -> dict:
        return {"version": SETTINGS_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict) -> Settings:
        """Settings from a saved object; a value of the wrong type or out of range takes its default."""
        settings = cls()
        for spec in fields(cls):
            if spec.name not in data:
                continue
            value = data[spec.name]
            default = getattr(settings, spec.name)
            if type(value) is not type(default):
                expected = type(default).__name__
                log.warning("settings: ignoring %s=%r (expected %s)", spec.name, value, expected)
                continue
            if isinstance(value, list):
                value = [item for item in value if isinstance(item, str)]
            setattr(settings, spec.name, value)
            try:
                settings.validate()
            except ValueError as exc:
                log.warning("settings: %s; using the default", exc)
                setattr(settings, spec.name, default)
        return settings


def settings_path() -> Path:
    return data_dir() / SETTINGS_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or defaults when there are none or the file cannot be read as settings."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings: cannot read %s (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    if data.get("version", SETTINGS_VERSION) > SETTINGS_VERSION:
        log.warning("settings: %s was written by a newer Folio; reading the fields this one knows", path)
    return Settings.from_json(data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temporary file + rename), so a crash never leaves half a settings file."""
    settings.validate()
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(settings.to_json(), f, indent=2)
            f.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path
