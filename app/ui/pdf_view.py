"""PDF page view: PyMuPDF renders one page at a time to a pixmap; highlights are drawn over it.

PyMuPDF is not thread-safe; in this process only the GUI thread calls it (ingest parses PDFs in a child
process), so rendering here needs no lock. Rectangles are in PDF points with the origin top-left, exactly as
the span map stores them.
"""

from __future__ import annotations

from collections.abc import Callable

import pymupdf
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsView, QStyle, QWidget

from app.ui.theme import HIGHLIGHT

Rect = tuple[float, float, float, float]
MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 0.25, 5.0, 1.25
PAGE_MARGIN = 24  # scene pixels around the page
FIND_PEN = QColor(230, 120, 0)


class PdfOpenError(Exception):
    """The PDF could not be opened for viewing; the message is shown to the user."""


class PdfView(QGraphicsView):
    pageChanged = Signal(int, int)  # current page (1-based), page count
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QColor("#e3e6ea"))
        self.document: pymupdf.Document | None = None
        self.path: str | None = None
        self.page = 0  # 1-based; 0 = nothing shown
        self.zoom = 1.0
        self.fit_width = True  # zoom follows the view's width until the user zooms by hand
        self.highlights: list[Rect] = []  # on the current page, in PDF points
        self._found: list[tuple[int, list[Rect]]] = []  # matches: page and the line boxes of each
        # finds matches in the parsed text (one match may wrap over lines); None = PyMuPDF's search per page
        self.search: Callable[[str], list[tuple[int, list[Rect]]]] | None = None
        self._found_index = -1
        self._found_needle = ""
        self._refit = QTimer(self, singleShot=True, interval=120, timeout=self._render)

    @property
    def page_count(self) -> int:
        return len(self.document) if self.document is not None else 0

    def open(self, path: str) -> None:
        """Open a PDF file (raises PdfOpenError with a reason a user can act on)."""
        try:
            document = pymupdf.open(path)
        except (pymupdf.FileDataError, pymupdf.EmptyFileError, RuntimeError, OSError) as exc:
            raise PdfOpenError(f"cannot open {path}: {exc}") from exc
        if document.needs_pass:
            document.close()
            raise PdfOpenError(f"{path} is encrypted: it needs a password")
        if len(document) == 0:
            document.close()
            raise PdfOpenError(f"{path} has no pages")
        self.close_document()
        self.document, self.path = document, path
        self.fit_width = True
        self._found, self._found_index, self._found_needle = [], -1, ""
        self.search = None

    def close_document(self) -> None:
        if self.document is not None:
            self.document.close()
        self.document, self.path, self.page, self.highlights = None, None, 0, []
        self.scene().clear()

    def show_page(self, page: int, highlights: list[Rect] | None = None) -> None:
        """Show a 1-based page (clamped) with `highlights` drawn over it and scrolled into view."""
        if self.document is None:
            return
        self.page = min(max(page, 1), self.page_count)
        self.highlights = list(highlights or [])
        self._render()
        self.pageChanged.emit(self.page, self.page_count)

    def next_page(self) -> None:
        self.show_page(self.page + 1)

    def previous_page(self) -> None:
        self.show_page(self.page - 1)

    def set_zoom(self, zoom: float) -> None:
        self.fit_width = False
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self._render()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / ZOOM_STEP)

    def zoom_to_width(self) -> None:
        self.fit_width = True
        self._render()

    # rendering ----------------------------------------------------------------------------------------

    def _width_zoom(self, page: pymupdf.Page) -> float:
        # leave room for the vertical scroll bar even before it shows, so fitting never adds a horizontal one
        extent = 0 if self.verticalScrollBar().isVisible() else self.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent)
        available = self.viewport().width() - extent - 2 * PAGE_MARGIN - 4
        return min(max(available / page.rect.width, MIN_ZOOM), 2.0)

    def _render(self) -> None:
        if self.document is None or self.page == 0:
            return
        page = self.document[self.page - 1]
        if self.fit_width:
            self.zoom = self._width_zoom(page)
        ratio = self.devicePixelRatioF()
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(self.zoom * ratio, self.zoom * ratio), alpha=False)
        image = QImage(pixmap.samples, pixmap.width, pixmap.height, pixmap.stride,
                       QImage.Format.Format_RGB888)
        picture = QPixmap.fromImage(image.copy())  # copy: the samples buffer dies with `pixmap`
        picture.setDevicePixelRatio(ratio)
        scene = self.scene()
        scene.clear()
        shadow = scene.addRect(QRectF(3, 3, picture.width() / ratio, picture.height() / ratio),
                               QPen(Qt.PenStyle.NoPen), QBrush(QColor(0, 0, 0, 40)))
        shadow.setZValue(-1)
        scene.addPixmap(picture)
        first_item = None
        for rect in self.highlights:
            item = self._add_rect(rect, QPen(Qt.PenStyle.NoPen), QBrush(HIGHLIGHT))
            first_item = first_item or item
        if 0 <= self._found_index < len(self._found) and self._found[self._found_index][0] == self.page:
            pen = QPen(FIND_PEN, 2)
            boxes = [self._add_rect(rect, pen, QBrush(Qt.BrushStyle.NoBrush))
                     for rect in self._found[self._found_index][1]]
            first_item = boxes[0] if boxes else first_item
        bounds = QRectF(0, 0, picture.width() / ratio, picture.height() / ratio)
        scene.setSceneRect(bounds.adjusted(-PAGE_MARGIN, -PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN))
        self.zoomChanged.emit(self.zoom)
        if first_item is not None:
            self.ensureVisible(first_item, 40, 120)
        else:
            self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def _add_rect(self, rect: Rect, pen: QPen, brush: QBrush) -> QGraphicsRectItem:
        x0, y0, x1, y1 = (value * self.zoom for value in rect)
        pad = 1.5 * self.zoom
        box = QRectF(x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
        return self.scene().addRect(box, pen, brush)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_width and self.document is not None:
            self._refit.start()  # re-render once the user stops resizing

    # find ----------------------------------------------------------------------------------------------

    def find_text(self, needle: str, backward: bool = False) -> bool:
        """Go to the next (or previous) match of `needle`, searching every page; False when there is none."""
        if self.document is None or not needle:
            return False
        if needle != self._found_needle:
            self._found_needle = needle
            self._found = self.search(needle) if self.search is not None else [
                (number, [tuple(rect)]) for number, page in enumerate(self.document, start=1)
                for rect in page.search_for(needle)]
            # start from the current page: the first step below lands on its first (or last) match
            if backward:
                before = [i for i, (number, _) in enumerate(self._found) if number <= self.page]
                self._found_index = (before[-1] if before else len(self._found) - 1) + 1
            else:
                after = [i for i, (number, _) in enumerate(self._found) if number >= self.page]
                self._found_index = (after[0] if after else 0) - 1
        if not self._found:
            return False
        step = -1 if backward else 1
        self._found_index = (self._found_index + step) % len(self._found)
        page = self._found[self._found_index][0]
        self.show_page(page, self.highlights if page == self.page else [])
        return True

    @property
    def found(self) -> tuple[int, int]:
        """(1-based index of the current match, number of matches) of the last search."""
        return (self._found_index + 1 if self._found else 0), len(self._found)
