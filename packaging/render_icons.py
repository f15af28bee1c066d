"""Render the app icon (resources/icons/folio.svg) into the hicolor PNG sizes desktops look up.

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py

Writes packaging/icons/hicolor/<N>x<N>/apps/io.folio.Folio.png for every size in SIZES and copies the SVG to
packaging/icons/hicolor/scalable/apps/io.folio.Folio.svg. The PNGs are committed; run this again after
changing the SVG.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SVG = REPO / "resources" / "icons" / "folio.svg"
ICONS = REPO / "packaging" / "icons" / "hicolor"
ICON_NAME = "io.folio.Folio"  # the desktop entry's Icon= and the AppStream id
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path = SVG, out: Path = ICONS, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"render_icons: could not write {path}")
        written.append(path)
    scalable = out / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    return [*written, scalable]


if __name__ == "__main__":
    for written_path in render():
        print(written_path.relative_to(REPO))
