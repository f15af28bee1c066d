"""The desktop app's entry point: `run_gui(paths)`, for `python main.py` and `python main.py open PATH...`."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from PySide6.QtWidgets import QApplication

from app.core.settings import load_settings
from app.ui.main_window import MainWindow
from app.ui.theme import app_icon, apply_theme


def display_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """Why no window can open here (Qt would abort the process without a display), or None."""
    if platform.startswith("linux") and not any(environ.get(name) for name in (
            "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return ("no display found for the window (DISPLAY and WAYLAND_DISPLAY are unset); "
                "the command-line tools work without one: python main.py --help")
    return None


def run_gui(paths: list[str] | None = None) -> int:
    """Create the application, show the window (on `paths`, else the last project, else the welcome screen)
    and run the event loop; returns the exit status."""
    problem = None if QApplication.instance() is not None else display_problem(os.environ, sys.platform)
    if problem is not None:
        print(f"folio: error: {problem}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Folio")
    app.setOrganizationName("Folio")
    app.setDesktopFileName("folio")
    app.setWindowIcon(app_icon())
    settings = load_settings()
    dark = apply_theme(app, settings.theme)
    window = MainWindow(settings)
    window._set_dark(dark)
    window.show()
    window.status.probe_device(settings.device)
    window.start(paths)
    return app.exec()
