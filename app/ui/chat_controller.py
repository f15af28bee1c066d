"""Asking from the window: the chat panel's questions go to the model worker, tokens stream back into the
answer being written, the finished answer gets its citation chips, and every project keeps its chats.

Chats are the project's sessions (app.core.sessions, in project.db): opening a project shows its most
recent one, a follow-up continues it (the engine puts the earlier turns into the question), "New chat"
starts another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.sessions import DEFAULT_SESSION, list_sessions, load_turns
from app.core.tasks import IngestProgress
from app.ui.model_tasks import AskOptions, Restart, ask_task
from app.ui.progress import RefreshMeter
from app.ui.runner import TaskRunner

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


@dataclass
class Chats:
    db_path: Path
    names: list[str]  # the project's chats, the most recent first
    session: str  # the one shown
    turns: list  # its turns (app.core.sessions.Turn)


def read_chats(db_path: Path, session: str | None, _report, _should_stop) -> Chats:
    """The project's chats and the turns of `session` (None: the most recent chat)."""
    names = list_sessions(db_path)
    chosen = session or (names[0] if names else DEFAULT_SESSION)
    return Chats(db_path, names, chosen, load_turns(db_path, chosen))


class ChatController(QObject):
    tokenReceived = Signal(str)  # each piece of an answer, as it streams
    answerFinished = Signal(object)  # the Answer, or None when answering failed
    chatShown = Signal(str)  # a saved chat (the session's name) is on screen
    chatsRead = Signal()  # a read of the project's chats has ended (shown, or failed)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.chat = window.chat
        self.runner: TaskRunner | None = None
        self.turn = None
        self._result = None  # the answer of the run that is ending
        self.db_path: Path | None = None
        self.session = DEFAULT_SESSION
        self.names: list[str] = []  # the project's saved chats, the most recent first
        self.reads = 0  # reads of chats under way (the first one creates the project's chat table)
        self.chat.askRequested.connect(self.ask)
        self.chat.stopRequested.connect(self.stop)
        self.chat.newChatRequested.connect(self.new_chat)
        self.chat.sessionChosen.connect(self.show_session)
        self.chat.citationActivated.connect(window.open_citation)

    @property
    def answering(self) -> bool:
        return self.runner is not None and self.runner.running

    # chats ---------------------------------------------------------------------------------------------

    def show_project(self, db_path: Path | None) -> None:
        """The chats of the project now shown (its most recent chat opens); nothing changes for the same."""
        if db_path == self.db_path:
            return
        if self.answering:
            self.stop()
        self.db_path = db_path
        self.names = []
        self.chat.clear()
        self.chat.set_sessions([], None)
        if db_path is not None:
            self._read(None)

    def show_session(self, session: str) -> None:
        if not self.answering and self.db_path is not None:
            self._read(session)

    def _read(self, session: str | None) -> None:
        """Read the chats on the model worker, after the reading or answer before it: the first read
        creates the project's chat table, a write that must not meet theirs."""
        runner = self.window.model.task("Reading the chats", read_chats, self.db_path, session, parent=self)
        runner.done.connect(self._chats_read)
        runner.failed.connect(lambda message: self.window.notice.show_message(message))
        runner.finished.connect(self._read_ended)
        runner.finished.connect(runner.deleteLater)
        self.reads += 1
        self.window.model.run(runner)

    def _read_ended(self) -> None:
        self.reads -= 1
        self.chatsRead.emit()

    def _chats_read(self, chats: Chats) -> None:
        if chats.db_path != self.db_path or self.answering:
            return  # another project (or a question) came first
        self.session, self.names = chats.session, chats.names
        self.chat.show_turns(chats.turns, chats.session)
        self._list_sessions()
        self.chatShown.emit(chats.session)

    def _list_sessions(self) -> None:
        """The chats to switch between (none listed until one has been saved)."""
        names = self.names if self.session in self.names or not self.names else [self.session, *self.names]
        self.chat.set_sessions(names, self.session)

    def new_chat(self) -> None:
        if self.answering or self.db_path is None:
            return
        number = len(self.names) + 1
        while f"Chat {number}" in self.names:
            number += 1
        self.session = f"Chat {number}"
        self.chat.show_turns([], self.session)
        self._list_sessions()
        self.chat.question.setFocus()

    # asking -------------------------------------------------------------------------------------------

    def ask(self, question: str) -> None:
        window = self.window
        if window.project is None:
            window.notice.show_message("Open a folder (or drop one on the window) before asking.", "info")
            return
        if self.answering:
            return
        settings = window.settings
        options = AskOptions(self.session, settings.answer_length, settings.top_k, window.project.db_path)
        self.turn = self.chat.begin_answer(question)
        self.chat.question.clear()
        if window.reading:
            self.turn.meta.setText("Waiting for the project to finish reading…")
        meter = RefreshMeter()
        self.runner = window.model.task("Answering", ask_task, window.model, window.project.paths, question,
                                        options, stream=True, convert_progress=meter.update, parent=self)
        self.runner.streamed.connect(self._streamed)
        self.runner.progress.connect(self._progress)
        self.runner.done.connect(self._answered)
        self.runner.failed.connect(self._failed)
        self.runner.finished.connect(self._ended)
        window.model.run(self.runner)
        window.update_actions()

    def stop(self) -> None:
        if self.answering:
            self.runner.cancel()
            self.chat.stopping()

    def _streamed(self, value: object) -> None:
        if self.turn is None:
            return
        if isinstance(value, Restart):
            self.turn.restart(value.note)
            return
        self.turn.append(value)
        self.tokenReceived.emit(value)

    def _progress(self, progress) -> None:
        if self.turn is not None and not self.turn.text:
            what = "Reading" if isinstance(progress, IngestProgress) else "Encoding"
            what += " changed files"
            self.turn.meta.setText(f"{what}: {progress.text}")

    def _answered(self, answer) -> None:
        if self.turn is not None:
            self.turn.finish(answer.answer, answer.citations, answer.timing, stopped=answer.stopped)
        for notice in answer.notices:
            self.window.notice.show_message(notice[0].upper() + notice[1:], "info")
        others = [name for name in self.names if name != self.session]
        self.names = [self.session, *others]  # the chat just used is now the most recent
        self._list_sessions()
        self.window.refresh_project()  # the question may have read and encoded changed files
        self._result = answer

    def _failed(self, message: str) -> None:
        if self.turn is not None:
            self.turn.fail(message)
        self._result = None

    def _ended(self) -> None:
        self.chat.set_busy(False)
        self.turn = None
        self.window.update_actions()
        result, self._result = self._result, None
        self.answerFinished.emit(result)
