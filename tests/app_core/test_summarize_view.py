"""The summary view: topics with chips that open their citations, outline entries that open their pages."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

from app.core.answer import Citation  # noqa: E402
from app.core.summarize import OutlineEntry, Summary, TopicResult  # noqa: E402
from app.ui.summary_view import SummaryView  # noqa: E402


def citation(page: int, text: str, score: float = 0.4) -> Citation:
    return Citation("c.pdf", None, None, page, [[72.0, 100.0, 500.0, 112.0]], score, text, "/x/c.pdf")


def make_summary() -> Summary:
    payment = [citation(12, "Invoices are payable within thirty days."),
               citation(40, "Late payments bear interest.")]
    return Summary("c.pdf", "/x/c.pdf", "pdf", 50,
                   outline=[OutlineEntry("Article 1. Term", 1, 3), OutlineEntry("1.1 Renewal", 2, 4),
                            OutlineEntry("Article 2. Fees and Payment", 1, 12)],
                   topics=[TopicResult("payment", True, payment), TopicResult("indemnification", False, [])])


def test_chips_emit_their_citation_and_missing_topics_say_so(qtbot):
    view = SummaryView()
    qtbot.addWidget(view)
    summary = make_summary()
    view.show_summary(summary)
    assert [chip.citation for chip in view.chips] == summary.topics[0].citations
    with qtbot.waitSignal(view.citation_clicked) as clicked:
        qtbot.mouseClick(view.chips[1], Qt.MouseButton.LeftButton)
    assert clicked.args[0] is summary.topics[0].citations[1]
    texts = [label.text() for label in view.body.findChildren(QLabel)]
    assert any("Indemnification" in t and "not found in the document" in t for t in texts)
    assert any("Invoices are payable within thirty days." in t for t in texts)
    assert "1 of 2 topics found" in view.status.text()


def test_outline_entries_nest_by_level_and_open_their_page(qtbot):
    view = SummaryView()
    qtbot.addWidget(view)
    view.show_summary(make_summary())
    top = view.outline.topLevelItem(0)
    assert view.outline.topLevelItemCount() == 2 and top.child(0).text(0) == "1.1 Renewal"
    with qtbot.waitSignal(view.citation_clicked) as clicked:
        view.outline.itemActivated.emit(top.child(0), 0)
    opened = clicked.args[0]
    assert (opened.path, opened.page, opened.abspath) == ("c.pdf", 4, "/x/c.pdf")


def test_a_written_summary_streams_in_and_keeps_its_numbered_sources(qtbot):
    view = SummaryView()
    qtbot.addWidget(view)
    summary = make_summary()
    view.show_summary(summary)
    assert view.written.isHidden()
    view.append_text("Payment is due in 30 days ")
    view.append_text("[1].")
    assert view.written.text() == "Payment is due in 30 days [1]."
    view.set_written(view.written.text(), summary.topics[0].citations[:1])
    chips = view.written_sources.findChildren(type(view.chips[0]))
    assert [c.text().split()[0] for c in chips] == ["1"]
    with qtbot.waitSignal(view.citation_clicked) as clicked:
        qtbot.mouseClick(chips[0], Qt.MouseButton.LeftButton)
    assert clicked.args[0] is summary.topics[0].citations[0]
