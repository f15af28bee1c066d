"""What this Folio is made of: app, embedded model and library versions, for `folio --version` and About.

`build_info()` is the text both show. No Qt here: Qt's version is PySide6's (each PySide6 release ships the
Qt of the same number) and is read from package metadata. A built app (packaging/build.py) carries a
`folio-build.json` beside `resources/` that says which tool built it and when; a source checkout has none.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

from ingest.languages import CODE_LANGUAGES
from model.checkpoint import CheckpointError, fingerprint, read_config

ROOT = Path(__file__).resolve().parents[2]  # the checkout, or the unpacked bundle of a built app
MODEL_DIR = ROOT / "resources" / "model"
BUILD_RECORD = ROOT / "folio-build.json"
CPU_ONLY = "CPU-only build"


def package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def app_version() -> str:
    """Folio's version: the build record's in a built app, else the installed project's metadata."""
    record = build_record()
    return str(record.get("version") or package_version("folio"))


def build_record() -> dict:
    """The packaging record of a built app ({} when running from source or when the record is unreadable)."""
    try:
        record = json.loads(BUILD_RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def model_description(folder: Path = MODEL_DIR) -> str:
    """`<name> (<fingerprint>)` of the model folder, or why there is none."""
    if not folder.is_dir():
        return "not present"
    try:
        name = read_config(folder).name
        return f"{name} ({fingerprint(folder)})"
    except CheckpointError as exc:
        return f"damaged: {exc}"


def torch_description() -> tuple[str, str]:
    """(torch version, compute line): the compute line says "CPU-only build" when torch has no CUDA."""
    import torch

    cuda = torch.version.cuda
    if cuda is None:
        return torch.__version__, f"{CPU_ONLY} (torch without CUDA)"
    if torch.cuda.is_available():
        found = f"GPU: {torch.cuda.get_device_name(0)}"
    else:
        found = "no CUDA GPU found on this machine, answers run on the CPU"
    return torch.__version__, f"CUDA {cuda} build; {found}"


def grammar_count() -> tuple[int, int]:
    """(grammars that load, grammars Folio knows): a built app missing a grammar library shows it here."""
    loaded = 0
    for language in CODE_LANGUAGES.values():
        try:
            language.load()
        except (ImportError, AttributeError, OSError, ValueError):
            continue
        loaded += 1
    return loaded, len(CODE_LANGUAGES)


def versions() -> dict[str, str]:
    """Name -> version or state, in the order `build_info` prints them."""
    record = build_record()
    torch_version, compute = torch_description()
    loaded, known = grammar_count()
    if record:
        built = f"built with {record.get('tool')} on {record.get('date')} for {record.get('platform')}"
    else:
        built = "running from source"
    found = {
        "Folio": f"{app_version()} ({built})",
        "Compute": compute,
        "Embedded model": model_description(),
    }
    override = os.environ.get("FOLIO_MODEL")
    if override:
        found["Model in use ($FOLIO_MODEL)"] = model_description(Path(override))
    return found | {
        "PyTorch": torch_version,
        "Qt (PySide6)": package_version("PySide6"),
        "PyMuPDF": package_version("pymupdf"),
        "tree-sitter": f"{package_version('tree-sitter')} ({loaded} of {known} grammars load)",
        "Python": f"{platform.python_version()} ({sys.platform}, {platform.machine()})",
    }


def build_info() -> str:
    """Plain text, one `name: value` per line; the About box shows it as it is.

    Imports torch (about a second the first time in a process) and hashes the embedded model's weights.
    """
    return "\n".join(f"{name}: {value}" for name, value in versions().items())
