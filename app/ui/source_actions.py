"""What the main window does with files and citations: the details pane, and opening a file, a line range,
a PDF page or a cited span in the source viewer. A mixin of MainWindow (it uses the window's widgets)."""

from __future__ import annotations

from functools import partial

from app.core.tasks import FileRow, document_details, find_on_page, search_document
from app.ui.theme import READABLE
from app.ui.viewer import ViewerError


class SourceActions:
    """Mixed into MainWindow: `self.viewer`, `self.details`, `self.sidebar`, `self.notice`, `self.project`."""

    def show_details(self, row: FileRow | None) -> None:
        details = None
        if row is not None and row.status in READABLE and self.project is not None:
            details = document_details(self.project.db_path, row.path)
        self.details.show_file(row, details)

    def open_file(self, row: FileRow) -> None:
        self.show_details(row)
        if row.status not in READABLE and row.kind is None:
            self.notice.show_message(f"{row.path} was not read ({row.status}): {row.reason}", "info")
            return
        if row.kind == "pdf":
            self.open_page(row, 1, "")
        else:
            self.open_lines(row, 0, 0)

    def open_lines(self, row: FileRow, start: int, end: int) -> None:
        """Open a code or text file; lines start..end (1-based) are marked unless start is 0."""
        try:
            self.viewer.open_code(row.abspath, row.path, row.language, (start, end) if start > 0 else None)
        except ViewerError as exc:
            self.notice.show_message(str(exc))

    def open_page(self, row: FileRow, page: int, needle: str) -> None:
        """Open a PDF at `page`; when `needle` is given, its line boxes on that page are highlighted."""
        details = document_details(self.project.db_path, row.path) if self.project is not None else None
        rects = []
        if needle and details is not None:
            found = find_on_page(details.document, needle, page)
            rects = [rect for on_page, rect in found.rects if on_page == page] if found is not None else []
        self._show_pdf(row.abspath, row.path, page, rects, details)

    def open_citation(self, citation) -> None:
        """Open a cited span: code and text with its lines marked, a PDF at its page with its rectangles."""
        row = self._row_for(citation)
        path = citation.abspath or (row.abspath if row is not None else "")
        shown = row.path if row is not None else citation.path
        if citation.page is not None:
            project = self.project
            details = document_details(project.db_path, shown) if project is not None and row else None
            rects = [tuple(rect) for rect in citation.rects or []]
            self._show_pdf(path, shown, citation.page, rects, details)
        else:
            start, end = citation.start_line, citation.end_line or citation.start_line
            lines = (start, end) if start else None
            try:
                self.viewer.open_code(path, shown, row.language if row is not None else None, lines)
            except ViewerError as exc:
                self.notice.show_message(f"{exc} (the cited file may have moved or been deleted)")
                return
        if row is not None:  # show where the source sits in the project, without re-opening it
            self.sidebar.tree.blockSignals(True)
            item = self.sidebar.item_for(row.path)
            self.sidebar.tree.setCurrentItem(item)
            self.sidebar.tree.scrollToItem(item)
            self.sidebar.tree.blockSignals(False)
            self.show_details(row)

    def _row_for(self, citation) -> FileRow | None:
        """The project's file a citation names. A summary cites a file as its own project ("contract.pdf")
        while the project may know it as "docs/contract.pdf": the file on disk decides."""
        rows = self.sidebar.rows
        row = rows.get(citation.path)
        if row is not None and (not citation.abspath or row.abspath == citation.abspath):
            return row
        return next((r for r in rows.values() if r.abspath == citation.abspath), None)

    def _show_pdf(self, path: str, shown_path: str, page: int, rects: list, details) -> None:
        try:
            self.viewer.open_pdf(path, shown_path, page, rects)
        except ViewerError as exc:
            self.notice.show_message(str(exc))
            return
        if details is not None:  # find (Ctrl+F) through the parsed text: a wrapped phrase is one match
            self.viewer.pdf.search = partial(search_document, details.document)
