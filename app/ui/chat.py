"""The chat panel: the conversation with the project (questions, streamed Markdown answers, numbered citation
chips) and the question box. It holds views only: the window asks, streams tokens in and opens citations."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import QKeyCombination, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.excerpts import ExcerptList
from app.ui.flow_layout import FlowLayout
from app.ui.markdown_view import MarkdownView

RENDER_INTERVAL_MS = 40  # a streamed answer is re-rendered at most this often (tokens arrive faster)
TOOLTIP_LINES = 12
CHAT_HINT = ("Ask about the code and documents of this project. Answers cite their sources: click a "
             "numbered chip to open the cited lines or PDF passage in the viewer.")
EMBEDDED_CAVEAT = ("The embedded model is small: it finds the passages that hold an answer more often "
                   "than it words the answer right, so read the cited passages. Settings → Model folder "
                   "takes your own model.")


def citation_tooltip(citation) -> str:
    lines = citation.text.splitlines()
    shown = "\n".join(lines[:TOOLTIP_LINES]) + ("\n…" if len(lines) > TOOLTIP_LINES else "")
    return (f"<b>{escape(citation.label)}</b> · {citation.score:.0%} of the retrieval weight"
            f"<pre>{escape(shown)}</pre>Click to open it in the viewer.")


class CitationChip(QPushButton):
    """A numbered source under an answer; clicking it opens the cited span."""

    def __init__(self, number: int, citation, parent: QWidget | None = None):
        super().__init__(f"{number}  {citation.label}", parent, objectName="Chip")
        self.number = number
        self.citation = citation
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(citation_tooltip(citation))


class TurnView(QFrame):
    """One question and its answer (streaming or finished), the passages it cites and its citation chips."""

    citationActivated = Signal(object)  # the Citation of a clicked chip

    def __init__(self, question: str, parent: QWidget | None = None):
        super().__init__(parent, objectName="Turn")
        self.question = QLabel(question, objectName="Question", wordWrap=True)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.answer = MarkdownView()
        self.text = ""
        self.excerpts = ExcerptList()  # the top cited passages, once the answer is finished
        self.excerpts.citationActivated.connect(self.citationActivated)
        self.chips: list[CitationChip] = []
        self.chip_box = QWidget()
        self.chip_layout = FlowLayout(self.chip_box)
        self.chip_box.hide()
        self.meta = QLabel(objectName="Muted", wordWrap=True)
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_INTERVAL_MS,
                                    timeout=self._render)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 10)
        layout.setSpacing(6)
        layout.addWidget(self.question)
        layout.addWidget(self.answer)
        layout.addWidget(self.excerpts)
        layout.addWidget(self.chip_box)
        layout.addWidget(self.meta)
        self.meta.setText("Reading the project…")

    def append(self, token: str) -> None:
        self.text += token
        if not self._render_timer.isActive():
            self._render_timer.start()

    def restart(self, note: str) -> None:
        """Throw away what streamed so far (the answer starts again, e.g. on the CPU)."""
        self.text = ""
        self._render()
        self.meta.setText(note)

    def _render(self) -> None:
        self.answer.set_markdown(self.text + " ▍")
        self.meta.setText("Answering…")

    def finish(self, text: str, citations: Sequence, timing: dict | None, stopped: bool = False) -> None:
        self._render_timer.stop()
        self.text = text
        self.answer.set_markdown(text if text.strip() else "*(no answer)*")
        self.set_citations(citations)
        parts = ["Stopped"] if stopped else []
        if timing:
            parts.append(f"first token {timing.get('ttft_ms', 0):,.0f} ms")
            parts.append(f"{timing.get('total_ms', 0) / 1000:.1f} s")
        if not citations:
            parts.append("no sources found")
        self.meta.setText(" · ".join(parts))
        self.meta.setVisible(bool(parts))

    def fail(self, message: str) -> None:
        self._render_timer.stop()
        if self.text:
            self.answer.set_markdown(self.text)
        self.answer.setVisible(bool(self.text))
        self.meta.setText(f"<span style='color:#d64545'>{escape(message)}</span>")

    def set_citations(self, citations: Sequence) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        for number, citation in enumerate(citations, start=1):
            chip = CitationChip(number, citation)
            chip.clicked.connect(lambda _checked=False, c=citation: self.citationActivated.emit(c))
            self.chip_layout.addWidget(chip)
            self.chips.append(chip)
        self.chip_box.setVisible(bool(self.chips))
        self.excerpts.set_citations(citations, self.question.text(), self.text)

    def set_dark(self, dark: bool) -> None:
        self.answer.set_dark(dark)


class QuestionBox(QPlainTextEdit):
    """Where a question is typed; Ctrl+Enter asks."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setPlaceholderText("Ask about this project…  (Ctrl+Enter)")
        self.setTabChangesFocus(True)
        self.setFixedHeight(78)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        combination = event.keyCombination()
        control = Qt.KeyboardModifier.ControlModifier
        if combination in (QKeyCombination(control, Qt.Key.Key_Return),
                           QKeyCombination(control | Qt.KeyboardModifier.KeypadModifier, Qt.Key.Key_Enter)):
            self.submitted.emit()
        else:
            super().keyPressEvent(event)


class ChatPanel(QWidget):
    askRequested = Signal(str)  # the question
    stopRequested = Signal()
    newChatRequested = Signal()
    settingsRequested = Signal()
    sessionChosen = Signal(str)  # a saved chat picked from the list
    citationActivated = Signal(object)  # Citation

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.turns: list[TurnView] = []
        self.busy = False
        self.dark = False
        self.sessions = QComboBox(toolTip="Saved chats of this project, the most recent first")
        self.sessions.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.sessions.activated.connect(lambda index: self.sessionChosen.emit(self.sessions.itemText(index)))
        self.sessions.hide()
        self.new_button = QToolButton(text="New chat", autoRaise=True,
                                      toolTip="Start a new conversation (the current one stays saved)")
        self.new_button.clicked.connect(self.newChatRequested)

        self.model_notice = QFrame(objectName="Notice")
        self.model_notice_label = QLabel(wordWrap=True)
        self.model_notice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        settings_button = QPushButton("Settings…", objectName="Secondary")
        settings_button.clicked.connect(self.settingsRequested)
        notice_row = QHBoxLayout(self.model_notice)
        notice_row.setContentsMargins(12, 8, 8, 8)
        notice_row.addWidget(self.model_notice_label, 1)
        notice_row.addWidget(settings_button, 0, Qt.AlignmentFlag.AlignTop)
        self.model_notice.hide()

        self.hint = QLabel(CHAT_HINT, objectName="Muted", wordWrap=True,
                           alignment=Qt.AlignmentFlag.AlignCenter)
        self.transcript = QWidget(objectName="Transcript")
        self.transcript_layout = QVBoxLayout(self.transcript)
        self.transcript_layout.setContentsMargins(12, 8, 12, 8)
        self.transcript_layout.addWidget(self.hint, 1)  # an empty chat shows the hint in its middle
        self.transcript_layout.addStretch(0)
        self.scroll = QScrollArea(widgetResizable=True, objectName="ChatScroll")
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.transcript)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_bottom = True

        self.caveat = QLabel(objectName="Muted", wordWrap=True)  # about the model in use, under the chat
        self.caveat.hide()
        self.question = QuestionBox()
        self.question.submitted.connect(self.submit)
        self.ask_button = QPushButton("Ask", objectName="Primary", toolTip="Ask (Ctrl+Enter)")
        self.ask_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop", objectName="Secondary", toolTip="Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stopRequested)
        self.stop_button.hide()
        buttons = QVBoxLayout()
        buttons.addWidget(self.ask_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.question, 1)
        ask_row.addLayout(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 8)
        header = QHBoxLayout()
        header.setContentsMargins(2, 6, 0, 2)
        header.addStretch(1)
        header.addWidget(self.sessions)
        header.addWidget(self.new_button)
        layout.addLayout(header)
        layout.addWidget(self.model_notice)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.caveat)
        layout.addLayout(ask_row)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # the conversation ---------------------------------------------------------------------------------

    def clear(self) -> None:
        for turn in self.turns:
            turn.deleteLater()
        self.turns = []
        self.hint.show()

    def show_turns(self, turns: Sequence, session: str | None) -> None:
        """A saved conversation: each turn has `question`, `answer` and `citations`."""
        self.clear()
        for saved in turns:
            turn = self._add_turn(saved.question)
            turn.finish(saved.answer, saved.citations, None)
            turn.meta.hide()
        self._at_bottom = True

    def set_sessions(self, names: Sequence[str], current: str | None) -> None:
        self.sessions.blockSignals(True)
        self.sessions.clear()
        self.sessions.addItems(list(names))
        if current is not None:
            self.sessions.setCurrentIndex(self.sessions.findText(current))
        self.sessions.blockSignals(False)
        self.sessions.setVisible(bool(names))

    def begin_answer(self, question: str) -> TurnView:
        self._at_bottom = True
        turn = self._add_turn(question)
        self.set_busy(True)
        return turn

    def _add_turn(self, question: str) -> TurnView:
        self.hint.hide()
        turn = TurnView(question)
        turn.set_dark(self.dark)
        turn.citationActivated.connect(self.citationActivated)
        self.transcript_layout.insertWidget(self.transcript_layout.count() - 1, turn)
        self.turns.append(turn)
        return turn

    @property
    def current(self) -> TurnView | None:
        return self.turns[-1] if self.turns else None

    def _follow(self, _minimum: int, maximum: int) -> None:
        """Keep the newest text in view while the user has not scrolled up to read something else."""
        bar = self.scroll.verticalScrollBar()
        if self._at_bottom or self.busy:
            bar.setValue(maximum)

    # asking -------------------------------------------------------------------------------------------

    def submit(self) -> None:
        text = self.question.toPlainText().strip()
        if text and not self.busy and self.ask_button.isEnabled():
            self.askRequested.emit(text)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.stop_button.setVisible(busy)
        self.stop_button.setEnabled(busy)
        self.stop_button.setText("Stop")
        self.ask_button.setVisible(not busy)
        if not busy:
            self.question.setFocus()

    def stopping(self) -> None:
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")

    def set_model_problem(self, message: str | None) -> None:
        """Show why answering is unavailable (the rest of the window keeps working), or hide it."""
        self.model_notice_label.setText(message or "")
        self.model_notice.setVisible(bool(message))

    def set_caveat(self, text: str | None) -> None:
        """A standing note about the model in use (what its answers can be trusted for), or none."""
        self.caveat.setText(text or "")
        self.caveat.setVisible(bool(text))

    def set_can_ask(self, can_ask: bool, reason: str = "") -> None:
        self.ask_button.setEnabled(can_ask)
        self.ask_button.setToolTip("Ask (Ctrl+Enter)" if can_ask else reason)

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        for turn in self.turns:
            turn.set_dark(dark)
