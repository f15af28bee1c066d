"""Capture the window's main states into PNG files (the images in docs/screenshots/).

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python -m app.ui.screenshots docs/screenshots

Runs against a fresh, temporary FOLIO_HOME (the user's projects are never touched) with the light theme:
welcome.png (first start), ingest.png (reading Python's standard library, captured mid-run), code.png (the
sample project with a function's lines marked) and pdf.png (the sample contract with an article heading
highlighted). Works offscreen too (QT_QPA_PLATFORM=offscreen), with the same result.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

SIZE = (1400, 900)


def wait(milliseconds: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(condition, timeout_s: float = 300.0) -> None:
    waited = 0
    while not condition():
        if waited > timeout_s * 1000:
            raise TimeoutError("the window did not reach the expected state")
        wait(50)
        waited += 50


def capture(window, folder: Path, name: str) -> None:
    wait(300)  # let layouts settle and the PDF view finish rendering
    path = folder / name
    window.grab().save(str(path))
    print(f"wrote {path}")


def select(window, path: str) -> None:
    item = window.sidebar.item_for(path)
    window.sidebar.tree.scrollToItem(item)
    window.sidebar.tree.setCurrentItem(item)


def activate_outline(window, text: str) -> None:
    item = window.details.outline.findItems(text, Qt.MatchFlag.MatchContains)[0]
    window.details.outline.setCurrentItem(item)
    window.details.outline.itemActivated.emit(item, 0)


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs/screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="folio-shots-")
    os.environ["FOLIO_HOME"] = home

    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.theme import app_icon, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    apply_theme(app, "light")
    window = MainWindow(Settings(theme="light"))
    window.resize(*SIZE)
    window.show()
    window.status.probe_device("auto")
    window.start(None)
    try:  # the status bar names the device once PyTorch has loaded in its child process
        wait_until(lambda: "checking" not in window.status["device"].text(), timeout_s=120)
    except TimeoutError:
        print("PyTorch did not answer within 2 minutes: the status bar still says 'checking'")
    capture(window, folder, "welcome.png")

    finished: list[object] = []
    window.ingestFinished.connect(finished.append)
    window.open_paths([sysconfig.get_paths()["stdlib"]])
    wait_until(lambda: window.progress.bar.maximum() > 0 and window.progress.bar.value()
               > 0.3 * window.progress.bar.maximum())
    window.sidebar.tree.collapseAll()
    window.sidebar.tree.topLevelItem(0).setExpanded(True)
    select(window, "json/decoder.py")  # browsing while the rest is read
    window.sidebar.tree.itemActivated.emit(window.sidebar.item_for("json/decoder.py"), 0)
    capture(window, folder, "ingest.png")
    window.cancel_ingest()
    wait_until(lambda: finished)

    window.open_sample()
    wait_until(lambda: len(finished) == 2)
    window.notice.hide()
    select(window, "textstats/readability.py")
    activate_outline(window, "analyze")
    capture(window, folder, "code.png")

    select(window, "services-agreement.pdf")
    activate_outline(window, "Limitation of Liability")
    capture(window, folder, "pdf.png")
    window.close()
    shutil.rmtree(home, ignore_errors=True)  # the standard library's project database is large
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
