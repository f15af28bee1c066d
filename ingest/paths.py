"""Where Folio keeps its data: one folder per project under the user data directory.

`FOLIO_HOME` overrides the platform's user data directory (tests and portable installs use it).
A project is named by its primary root: the same folder always reaches the same project folder,
because the folder name is derived from the fully resolved path.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import platformdirs

DB_NAME = "project.db"


def data_dir() -> Path:
    """The user data directory: `$FOLIO_HOME` when set, else the platform's (e.g. ~/.local/share/folio)."""
    override = os.environ.get("FOLIO_HOME")
    if override:
        return Path(override).expanduser().resolve()
    return platformdirs.user_data_path("folio", appauthor=False)


def projects_dir() -> Path:
    return data_dir() / "projects"


def project_key(root: str | os.PathLike[str]) -> str:
    """A stable folder name for the project whose primary root is `root`: readable name + path hash."""
    resolved = str(Path(root).expanduser().resolve())
    digest = hashlib.blake2b(resolved.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(resolved).name).strip("._")[:40] or "root"
    return f"{slug}-{digest}"


def project_dir(root: str | os.PathLike[str]) -> Path:
    """The folder that holds `project.db` (and later the model memory) for the project rooted at `root`."""
    return projects_dir() / project_key(root)


def project_db_path(root: str | os.PathLike[str]) -> Path:
    return project_dir(root) / DB_NAME
