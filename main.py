"""Folio's entry point: `python main.py` opens the window; `python main.py COMMAND ...` runs headless;
`python main.py --version` prints the app, embedded model and library versions.

Qt is imported only on the GUI path and only inside the `__main__` guard: the PDF worker starts its
child with `spawn`, which re-imports this module, and the command line must never load Qt.
"""

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        from app.core.versions import build_info

        print(build_info())
        return 0
    if not argv or (argv[0] == "open" and not {"-h", "--help"} & set(argv[1:])):
        from app.ui.app import run_gui

        return run_gui(argv[1:] or None)
    from app.core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
