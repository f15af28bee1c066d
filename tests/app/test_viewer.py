"""The viewer opens code at marked lines and PDF pages with highlighted passages; find; open in editor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pymupdf
import pytest
from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QGraphicsRectItem
from window_helpers import ingest_and_wait

from app.core.tasks import SAMPLE_DIR
from app.ui.theme import HIGHLIGHT

CONTRACT = SAMPLE_DIR / "services-agreement.pdf"


def select(win, path: str) -> None:
    item = win.sidebar.item_for(path)
    assert item is not None, f"{path} is not in the tree"
    win.sidebar.tree.setCurrentItem(item)


def outline_item(win, text: str):
    found = win.details.outline.findItems(text, Qt.MatchFlag.MatchContains)
    assert found, f"{text!r} not in the details pane"
    return found[0]


@pytest.fixture
def opened(qtbot, window, project_dir: Path):
    shutil.copy(CONTRACT, project_dir / "docs" / "agreement.pdf")
    ingest_and_wait(qtbot, window, lambda: window.open_paths([str(project_dir)]))
    return window


def test_definition_opens_code_with_its_lines_marked(qtbot, opened):
    win = opened
    select(win, "pkg/shapes.py")
    assert win.details.title.text() == "pkg/shapes.py"
    item = outline_item(win, "area")
    assert item.text(2) == "12–13" and item.text(1) == "method"
    win.details.outline.itemActivated.emit(item, 0)

    viewer = win.viewer
    assert viewer.kind == "code" and viewer.shown_path == "pkg/shapes.py"
    assert viewer.path == str(Path(win.project.root) / "pkg" / "shapes.py")
    assert viewer.code.marked == (12, 13)
    marked = [s.cursor.block().text() for s in viewer.code.extraSelections()]
    assert marked == ["    def area(self):", "        return self.side * self.side"]
    assert viewer.code.textCursor().blockNumber() + 1 == 12
    assert viewer.location.text() == "Lines 12–13 · python · 13 lines"
    assert viewer.code.first_visible_line() <= 12 <= 13 <= last_visible_line(viewer.code)


def last_visible_line(code) -> int:
    return code.cursorForPosition(QPoint(0, code.viewport().height() - 1)).blockNumber() + 1


def test_marked_lines_deep_in_a_long_file_are_scrolled_into_view(qtbot, window, tmp_path: Path):
    long_file = tmp_path / "long.py"
    long_file.write_text("".join(f"value_{n} = {n}\n" for n in range(1, 601)))
    window.viewer.open_code(str(long_file), "long.py", "python", (400, 410))
    code = window.viewer.code
    qtbot.waitUntil(lambda: code.first_visible_line() == 396)  # four lines of context above the range
    assert last_visible_line(code) >= 410
    assert code.marked == (400, 410) and len(code.extraSelections()) == 11


def test_double_click_in_tree_opens_the_whole_file(opened):
    win = opened
    win.sidebar.tree.itemActivated.emit(win.sidebar.item_for("README.md"), 0)
    assert win.viewer.kind == "code" and win.viewer.code.marked is None
    assert win.viewer.code.toPlainText().startswith("# Demo")


def test_pdf_heading_opens_its_page_with_the_heading_highlighted(opened):
    win = opened
    select(win, "docs/agreement.pdf")
    assert "7 pages" in win.details.facts.text(), win.sidebar.rows["docs/agreement.pdf"]
    win.details.outline.itemActivated.emit(outline_item(win, "Limitation of Liability"), 0)

    pdf = win.viewer.pdf
    assert win.viewer.kind == "pdf" and pdf.page == 3 and pdf.page_count == 7
    assert pdf.highlights, "no highlight rectangles"
    with pymupdf.open(CONTRACT) as document:
        page = document[2]
        under = " ".join(page.get_textbox(pymupdf.Rect(rect)).strip() for rect in pdf.highlights)
        assert "Article 6. Limitation of Liability" in under
        assert all(page.rect.contains(pymupdf.Rect(rect)) for rect in pdf.highlights)
    drawn = [item for item in pdf.scene().items()
             if isinstance(item, QGraphicsRectItem) and item.brush().color() == HIGHLIGHT]
    assert len(drawn) == len(pdf.highlights)
    assert win.viewer.page_box.value() == 3 and win.viewer.location.text() == "Page 3 of 7"


def test_pdf_navigation_and_zoom(opened):
    win = opened
    select(win, "docs/agreement.pdf")
    win.details.open_button.click()
    pdf = win.viewer.pdf
    assert pdf.page == 1
    pdf.next_page()
    assert pdf.page == 2 and win.viewer.page_box.value() == 2
    win.viewer.page_box.setValue(7)
    assert pdf.page == 7
    pdf.next_page()
    assert pdf.page == 7  # clamped at the last page
    before = pdf.zoom
    pdf.zoom_in()
    assert pdf.zoom == pytest.approx(before * 1.25) and not pdf.fit_width
    assert win.viewer.zoom_label.text() == f"{pdf.zoom * 100:.0f}%"
    pixmap = [item for item in pdf.scene().items() if hasattr(item, "pixmap")][0].pixmap()
    assert pixmap.width() / pixmap.devicePixelRatio() == pytest.approx(595.3 * pdf.zoom, abs=2)


def test_ctrl_f_finds_in_code_and_in_pdf(qtbot, opened):
    win = opened
    assert win.menu_actions["find"].shortcut().toString() == "Ctrl+F"
    assert win.menu_actions["open_folder"].shortcut().toString() == "Ctrl+O"
    win.sidebar.tree.itemActivated.emit(win.sidebar.item_for("pkg/shapes.py"), 0)
    win.viewer.setFocus()
    qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert win.viewer.find_bar.isVisible()
    qtbot.keyClicks(win.viewer.find_bar.field, "self.side")
    qtbot.keyClick(win.viewer.find_bar.field, Qt.Key.Key_Return)
    cursor = win.viewer.code.textCursor()
    assert cursor.selectedText() == "self.side" and cursor.blockNumber() + 1 == 10
    qtbot.keyClick(win.viewer.find_bar.field, Qt.Key.Key_Return)
    assert win.viewer.code.textCursor().blockNumber() + 1 == 13

    win.sidebar.tree.itemActivated.emit(win.sidebar.item_for("docs/agreement.pdf"), 0)
    assert win.viewer.find("governed by the laws of England")
    assert win.viewer.pdf.page == 4
    assert win.viewer.find_bar.status.text() == "1 of 1"
    assert not win.viewer.find("no such words anywhere")
    assert win.viewer.find_bar.status.text() == "No matches"


class UrlCatcher(QObject):
    def __init__(self):
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_in_editor_hands_the_file_to_the_system(opened):
    win = opened
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        win.sidebar.tree.itemActivated.emit(win.sidebar.item_for("pkg/shapes.py"), 0)
        win.viewer.editor_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [url.toLocalFile() for url in catcher.urls] == [win.viewer.path]


def test_a_file_gone_from_disk_shows_a_message(opened):
    win = opened
    row = win.sidebar.rows["pkg/shapes.py"]
    Path(row.abspath).unlink()
    win.open_lines(row, 1, 2)
    assert win.notice.isVisible() and "cannot open pkg/shapes.py" in win.notice.label.text()


def test_code_highlighting_colours_keywords(opened):
    win = opened
    win.sidebar.tree.itemActivated.emit(win.sidebar.item_for("pkg/shapes.py"), 0)
    block = win.viewer.code.document().findBlockByNumber(3)  # "def unit_square():"
    formats = block.layout().formats()
    assert block.text().startswith("def ")
    keyword = [f for f in formats if f.start == 0]
    assert keyword and keyword[0].format.foreground().color().name() != "#000000"
