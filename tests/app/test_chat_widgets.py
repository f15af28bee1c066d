"""The chat's pieces on their own: chip labels, Markdown answers with code blocks, wrapping chips, the cited
passages quoted under an answer, streaming into a turn, the question box's Ctrl+Enter, the encode progress
text, and the memory state the tree reads."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from app.core.answer import Citation
from app.core.indexing import EncodeProgress
from app.core.sessions import append_turn, load_turns
from app.ui.chat import ChatPanel, CitationChip, TurnView
from app.ui.excerpts import ELLIPSIS
from app.ui.markdown_view import MarkdownView
from app.ui.progress import EncodeStatus, RefreshMeter
from ingest.pipeline import Progress

CODE = Citation("pkg/shapes.py", 12, 40, None, None, 0.61, "def area(self):", "/p/pkg/shapes.py")
ONE_LINE = Citation("pkg/shapes.py", 7, 7, None, None, 0.2, "x = 1", "/p/pkg/shapes.py")
PDF = Citation("contract.pdf", None, None, 7, [[72.0, 100.0, 300.0, 112.0]], 0.19, "Liability",
               "/p/contract.pdf")

ANSWER = """The area is computed in `Square.area`:

```python
def area(self):
    return self.side * self.side
```

It multiplies the side by itself."""


def test_chip_labels_say_where_the_span_is(qtbot):
    assert CODE.label == "pkg/shapes.py:12-40" and ONE_LINE.label == "pkg/shapes.py:7"
    assert PDF.label == "contract.pdf p.7"
    # a citation without lines (a chat saved by an older version) names its file
    assert Citation("a.py", None, None, None, None, 1.0, "", "/p/a.py").label == "a.py"
    assert Citation("a.py", 3, None, None, None, 1.0, "", "/p/a.py").label == "a.py:3"
    chip = CitationChip(2, PDF)
    qtbot.addWidget(chip)
    assert chip.text() == "2  contract.pdf p.7"


def test_markdown_answer_renders_code_blocks_and_grows_with_its_text(qtbot):
    view = MarkdownView()
    qtbot.addWidget(view)
    view.resize(500, 50)
    view.show()
    view.set_markdown("One line.")
    short = view.height()
    view.set_markdown(ANSWER)
    assert view.code_blocks() == ["def area(self):", "    return self.side * self.side"]
    assert "`" not in view.toPlainText() and "```" not in view.toPlainText()  # rendered, not shown raw
    assert view.height() > short + 40  # the whole answer shows without an inner scroll bar
    assert view.document().size().height() <= view.height()


def test_a_turn_streams_then_shows_numbered_chips_that_wrap(qtbot):
    turn = TurnView("Where is the area computed?")
    qtbot.addWidget(turn)
    turn.resize(260, 400)
    turn.show()
    for piece in ("The area ", "is in ", "`Square.area`."):
        turn.append(piece)
    qtbot.waitUntil(lambda: "Square.area" in turn.answer.toPlainText())
    assert turn.answer.toPlainText().startswith("The area is in Square.area.")  # the cursor mark follows
    timing = {"ttft_ms": 120.0, "total_ms": 1500.0}
    turn.finish("The area is in `Square.area`.", [CODE, PDF, ONE_LINE], timing)
    assert turn.answer.toPlainText() == "The area is in Square.area."
    assert [chip.text() for chip in turn.chips] == ["1  pkg/shapes.py:12-40", "2  contract.pdf p.7",
                                                   "3  pkg/shapes.py:7"]
    assert turn.meta.text() == "first token 120 ms · 1.5 s"
    qtbot.waitUntil(lambda: turn.chips[2].y() > turn.chips[0].y())  # 260 px: the chips wrap onto rows
    with qtbot.waitSignal(turn.citationActivated) as clicked:
        qtbot.mouseClick(turn.chips[1], Qt.MouseButton.LeftButton)
    assert clicked.args == [PDF]


def test_a_failed_or_stopped_turn_says_so(qtbot):
    turn = TurnView("Q")
    qtbot.addWidget(turn)
    turn.fail("Answering failed: the project has no documents")
    assert "no documents" in turn.meta.text() and not turn.chips
    stopped = TurnView("Q")
    qtbot.addWidget(stopped)
    stopped.finish("Partial", [], None, stopped=True)
    assert stopped.meta.text() == "Stopped · no sources found"


METHOD = Citation("pkg/shapes.py", 11, 17, None, None, 0.5,
                  "\n    def area(self):\n        return self.side * self.side\n\n    def perimeter(self):\n"
                  "        return 4 * self.side\n", "/p/pkg/shapes.py")
CLAUSE = Citation("contract.pdf", None, None, 3, [[72.0, 100.0, 300.0, 112.0]], 0.3,
                  "9. LIMITATION OF LIABILITY.\n\nLiability shall not exceed the fees paid.",
                  "/p/contract.pdf")
LONG = Citation("notes.txt", 1, 1, None, None, 0.1, "word " * 200, "/p/notes.txt")


def finished(qtbot, question: str, answer: str, citations: list, size=(520, 600)) -> TurnView:
    """A turn on screen at `size`, finished with the answer and its citations."""
    turn = TurnView(question)
    qtbot.addWidget(turn)
    turn.resize(*size)
    turn.show()
    turn.finish(answer, citations, None)
    return turn


def test_a_finished_turn_quotes_three_cited_passages(qtbot):
    turn = finished(qtbot, "What limits liability?", "The fees paid.", [METHOD, CLAUSE, LONG, ONE_LINE, CODE])
    shown = turn.excerpts.excerpts
    assert turn.excerpts.isVisible() and len(turn.chips) == 5
    # the clause holds the question's words; the two others are the first of the chips that hold none
    assert [excerpt.citation for excerpt in shown] == [METHOD, CLAUSE, LONG]
    assert all(excerpt.isVisible() for excerpt in shown)

    def top(widget) -> int:
        return widget.mapTo(turn, QPoint(0, 0)).y()

    # under the answer, one above the other, above the chips
    qtbot.waitUntil(lambda: top(turn.answer) < top(shown[0]) < top(shown[1]) < top(shown[2])
                    < top(turn.chip_box))

    method, clause, long_line = (excerpt.text().splitlines() for excerpt in shown)
    # the number and label of the chip, then the cited lines: leading blank line dropped, indentation removed,
    # at most four lines, "…" for the rest; prose without its blank lines
    assert method == ["1  pkg/shapes.py:11-17", "def area(self):", "    return self.side * self.side", "",
                      "def perimeter(self):", ELLIPSIS]
    assert clause == ["2  contract.pdf p.3", "9. LIMITATION OF LIABILITY.",
                      "Liability shall not exceed the fees paid."]
    assert shown[0].body.font().fixedPitch() and not shown[1].body.font().fixedPitch()  # code, then prose
    # a long line is cut to the width of the turn, never widening it
    assert long_line[0] == "3  notes.txt:1" and long_line[1].startswith("word word")
    assert long_line[1].endswith(ELLIPSIS)
    assert shown[2].body.fontMetrics().horizontalAdvance(long_line[1]) <= shown[2].body.width()
    assert turn.width() == 520
    assert shown[1].toolTip() == "Open in the viewer"
    assert shown[1].cursor().shape() == Qt.CursorShape.PointingHandCursor

    # an excerpt opens its citation, as its chip does
    with qtbot.waitSignal(turn.citationActivated) as clicked:
        qtbot.mouseClick(shown[1].body, Qt.MouseButton.LeftButton)
    assert clicked.args == [CLAUSE]
    with qtbot.waitSignal(turn.citationActivated) as clicked:
        qtbot.mouseClick(shown[0], Qt.MouseButton.LeftButton)
    assert clicked.args == [METHOD]


def test_the_passages_quoted_are_those_the_question_is_about_numbered_as_their_chips(qtbot):
    # the model's fifth chip holds the clause asked about: it is quoted, with the first two chips (they hold
    # none of the question's words), in chip order, each numbered as its chip
    turn = finished(qtbot, "What limits liability?", "The fees paid.", [METHOD, LONG, ONE_LINE, CODE, CLAUSE])
    shown = turn.excerpts.excerpts
    assert [excerpt.citation for excerpt in shown] == [METHOD, LONG, CLAUSE]
    assert [excerpt.text().splitlines()[0] for excerpt in shown] == [
        "1  pkg/shapes.py:11-17", "2  notes.txt:1", "5  contract.pdf p.3"]
    with qtbot.waitSignal(turn.citationActivated) as clicked:
        qtbot.mouseClick(shown[2], Qt.MouseButton.LeftButton)
    assert clicked.args == [CLAUSE]
    # the two chips holding "area" and "self" (4 and 5) before those holding neither, of which the first
    other = finished(qtbot, "What is the area of self?", "It is computed.",
                     [LONG, ONE_LINE, CLAUSE, CODE, METHOD])
    assert [excerpt.number for excerpt in other.excerpts.excerpts] == [1, 4, 5]


def test_passages_show_only_once_an_answer_ends_with_citations(qtbot):
    turn = TurnView("Q")
    qtbot.addWidget(turn)
    turn.resize(400, 300)
    turn.show()
    turn.append("The area ")
    qtbot.waitUntil(lambda: "The area" in turn.answer.toPlainText())
    assert not turn.excerpts.excerpts and not turn.excerpts.isVisible()  # nothing quoted while streaming
    turn.fail("Answering failed: out of memory")
    assert not turn.excerpts.excerpts and not turn.excerpts.isVisible()

    stopped = TurnView("Q")
    qtbot.addWidget(stopped)
    stopped.show()
    stopped.append("Part")
    stopped.finish("Part", [CLAUSE], None, stopped=True)
    assert [excerpt.citation for excerpt in stopped.excerpts.excerpts] == [CLAUSE]
    assert stopped.excerpts.isVisible()

    uncited = TurnView("Q")
    qtbot.addWidget(uncited)
    uncited.show()
    uncited.finish("No idea.", [], None)
    assert not uncited.excerpts.excerpts and not uncited.excerpts.isVisible()
    # no empty space where the passages would be: the note follows the answer
    gap = uncited.layout().spacing()
    qtbot.waitUntil(lambda: uncited.meta.y() == uncited.answer.y() + uncited.answer.height() + gap)


def test_an_excerpt_shows_the_lines_of_its_span_that_the_question_is_about(qtbot):
    # a cited span is whole 64-token chunks: here the end of one function, then the one asked about
    span = Citation("textstats/readability.py", 34, 47, None, None, 0.9,
                    "    return 0.39 * words + 11.8 * syllables - 15.59\n\n\n@dataclass(frozen=True)\n"
                    "class Report:\n    words: int\n    sentences: int\n\n\n"
                    "def analyze(text: str) -> Report:\n    \"\"\"Measure `text`.\"\"\"\n"
                    "    words = tokenize(text)\n    return Report(len(words), count_sentences(text))\n"
                    "# end\n", "/p/textstats/readability.py")
    turn = TurnView("What does the function analyze do?")
    qtbot.addWidget(turn)
    turn.resize(700, 400)
    turn.show()
    turn.finish("Measure text.", [span], None)
    lines = turn.excerpts.excerpts[0].text().splitlines()
    # the lines holding the question's and the answer's words, marked as cut above and below
    assert lines == ["1  textstats/readability.py:34-47", ELLIPSIS, "def analyze(text: str) -> Report:",
                     '    """Measure `text`."""', "    words = tokenize(text)",
                     "    return Report(len(words), count_sentences(text))", ELLIPSIS]
    # a question none of whose words the span holds shows its first lines; blank runs kept to one line
    other = TurnView("Where is the cache?")
    qtbot.addWidget(other)
    other.resize(700, 400)
    other.show()
    other.finish("Nowhere.", [span], None)
    assert other.excerpts.excerpts[0].text().splitlines()[1:] == [
        "    return 0.39 * words + 11.8 * syllables - 15.59", "", "@dataclass(frozen=True)", "class Report:",
        ELLIPSIS]


def test_an_excerpt_prefers_the_rarer_words_of_the_question(qtbot):
    # "client" and "provider" are on every line of a contract, "days" on the one line that answers
    text = "\n".join(["The Client and the Provider agree to this."] * 5 + ["Headings are for reading."] * 4
                     + ["Invoices are payable within thirty (30) days.", "Nothing more."])
    clause = Citation("contract.pdf", None, None, 4, None, 1.0, text, "/p/contract.pdf")
    turn = TurnView("How many days does the client have to pay the provider?")
    qtbot.addWidget(turn)
    turn.resize(700, 400)
    turn.show()
    turn.finish("Thirty.", [clause], None)
    assert turn.excerpts.excerpts[0].text().splitlines() == [
        "1  contract.pdf p.4", ELLIPSIS, "Invoices are payable within thirty (30) days.", "Nothing more."]


def test_a_gap_in_a_cited_page_at_the_edge_of_an_excerpt_is_one_ellipsis(qtbot):
    # a PDF page the answer read in two places: its text marks the unread lines between with "…"
    text = ("Article 6. Limitation of Liability\n6.1 Nothing limits liability for death.\n"
            "negligence or fraud.\n…\n6.3 Total liability is capped.")
    page = Citation("contract.pdf", None, None, 3, None, 1.0, text, "/p/contract.pdf")
    turn = finished(qtbot, "What about the limitation of liability?", "It is limited.", [page])
    assert turn.excerpts.excerpts[0].text().splitlines() == [
        "1  contract.pdf p.3", "Article 6. Limitation of Liability",
        "6.1 Nothing limits liability for death.", "negligence or fraud.", ELLIPSIS]


def test_a_saved_chat_shows_the_cited_passages_again(qtbot, tmp_path):
    db_path = tmp_path / "project.db"
    append_turn(db_path, "default", "What limits liability?", "The fees paid.", [CLAUSE, METHOD])
    append_turn(db_path, "default", "Older chat format", "Yes.", [Citation("a.py", 1, 2, None, None, 1.0, "",
                                                                           "/p/a.py")])
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 700)
    panel.show()
    panel.show_turns(load_turns(db_path, "default"), "default")
    restored, textless = panel.turns
    assert [excerpt.citation.label for excerpt in restored.excerpts.excerpts] == ["contract.pdf p.3",
                                                                                 "pkg/shapes.py:11-17"]
    assert "9. LIMITATION OF LIABILITY." in restored.excerpts.excerpts[0].text()
    qtbot.waitUntil(restored.excerpts.isVisible)  # the turns appear once the transcript lays them out
    # a turn saved without the cited text shows no excerpt; its chip still opens the citation
    assert len(textless.chips) == 1 and textless.chips[0].isVisible() and not textless.excerpts.isVisible()


def test_ctrl_enter_asks_and_enter_types_a_new_line(qtbot):
    panel = ChatPanel()
    qtbot.addWidget(panel)
    asked: list[str] = []
    panel.askRequested.connect(asked.append)
    qtbot.keyClicks(panel.question, "first line")
    qtbot.keyClick(panel.question, Qt.Key.Key_Return)
    qtbot.keyClicks(panel.question, "second")
    assert asked == []
    qtbot.keyClick(panel.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["first line\nsecond"]
    panel.set_busy(True)  # one question at a time
    qtbot.keyClick(panel.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["first line\nsecond"] and panel.stop_button.isVisibleTo(panel)
    panel.set_busy(False)
    panel.set_can_ask(False, "no model")
    panel.submit()
    assert len(asked) == 1 and panel.ask_button.toolTip() == "no model"


def test_refresh_progress_reads_files_then_encodes_tokens():
    meter = RefreshMeter()
    reading = meter.update(Progress(3, 10, "a.py", "parsed"))
    assert reading.text.startswith("3 of 10 files")
    encoding = meter.update(EncodeProgress(2, 8, 30_000, 120_000, 2.0))
    assert isinstance(encoding, EncodeStatus) and (encoding.done, encoding.total) == (30_000, 120_000)
    assert encoding.text == "2 of 8 documents · 30,000 of 120,000 tokens · 15,000 tokens/s · 6 s left"
