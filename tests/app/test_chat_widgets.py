"""The chat's pieces on their own: chip labels, Markdown answers with code blocks, wrapping chips, streaming
into a turn, the question box's Ctrl+Enter, the encode progress text, and the memory state the tree reads."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.answer import Citation
from app.core.indexing import EncodeProgress
from app.ui.chat import ChatPanel, TurnView, citation_label
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


def test_chip_labels_say_where_the_span_is():
    assert citation_label(CODE) == "pkg/shapes.py:12-40" == CODE.label
    assert citation_label(ONE_LINE) == "pkg/shapes.py:7"
    assert citation_label(PDF) == "contract.pdf p.7" == PDF.label


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
