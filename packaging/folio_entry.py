"""The built app's entry point: main.py's `main`, after multiprocessing's frozen-child check.

The PDF worker starts its child with `spawn`; in a built app that child is this executable started with
`--multiprocessing-fork`, which `freeze_support` (patched by PyInstaller for every platform) turns into the
worker before anything else runs.

`FOLIO_EXIT_AFTER_SHOW=1` makes the window print `folio: window shown` and quit as soon as the main window
is first shown, so start-up time can be measured (packaging/measure.py) without a person closing it.
"""

import multiprocessing
import os
import sys


def _quit_after_first_show() -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    class FirstShow(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Show and isinstance(watched, QMainWindow):
                print("folio: window shown", flush=True)
                QTimer.singleShot(0, QApplication.quit)
            return False

    app = QApplication(sys.argv[:1])
    app.installEventFilter(FirstShow(app))


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # main.py from source
    from main import main

    args = sys.argv[1:]
    if os.environ.get("FOLIO_EXIT_AFTER_SHOW") == "1" and (not args or args[0] == "open"):
        _quit_after_first_show()
    sys.exit(main(args))
