"""Capture the window's main states into PNG files (the images in docs/screenshots/).

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python -m app.ui.screenshots docs/screenshots [MODEL_DIR]

Runs against a fresh, temporary FOLIO_HOME (the user's projects are never touched) with the light theme:
welcome.png (first start), ingest.png (encoding three packages of Python's standard library, mid-run),
answer.png (a question about the sample project, answered with citation chips), code.png (a code citation
opened: its lines marked), pdf.png (the quoted contract passage that shares the most words with the question,
opened: its page with the passage highlighted) and summary.png (the contract summarized: outline and cited
key passages).
The model is MODEL_DIR, else $FOLIO_MODEL, else the embedded model; without one the script makes a random
hsa-tiny model (the answers are then meaningless text, but streaming, retrieval and citations are real).
Works offscreen too (QT_QPA_PLATFORM=offscreen), with the same result.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

SIZE = (1400, 900)
CODE_QUESTION = "What does the function analyze do?"
PDF_QUESTIONS = ("What does the agreement say about the limitation of liability?",
                 "Which law governs the services agreement, and where are disputes heard?",
                 "How many days does the client have to pay an invoice?")


def wait(milliseconds: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(condition, timeout_s: float = 300.0) -> None:
    waited = 0
    while not condition():
        if waited > timeout_s * 1000:
            raise TimeoutError("the window did not reach the expected state")
        wait(50)
        waited += 50


def capture(window, folder: Path, name: str) -> None:
    wait(300)  # let layouts settle and the PDF view finish rendering
    path = folder / name
    window.grab().save(str(path))
    print(f"wrote {path}")


def model_folder(argv: list[str], home: str) -> str:
    """The model to answer with; a random tiny one (made here) when there is none."""
    from app.core.engine import EMBEDDED_MODEL

    given = argv[1] if len(argv) > 1 else os.environ.get("FOLIO_MODEL", "")
    if given or EMBEDDED_MODEL.is_dir():
        return given
    import torch

    from model.checkpoint import save
    from model.config import ModelConfig
    from model.tokenizer import Tokenizer
    from model.transformer import Transformer

    print("no model folder: answering with a random hsa-tiny model (its text is meaningless)")
    torch.manual_seed(0)
    tokenizer = Tokenizer.load()
    model = Transformer(ModelConfig.from_name("hsa-tiny"))
    with torch.no_grad():  # special tokens never win, so the random model writes visible text
        head = model.embed.weight if model.lm_head is None else model.lm_head.weight
        head[sorted(tokenizer.special_ids.values())] = 0.0
    return str(save(model, Path(home) / "random-model", tokenizer))


def ask(window, question: str) -> object:
    answers: list[object] = []
    window.chat_controller.answerFinished.connect(answers.append)
    window.chat.question.setPlainText(question)
    window.chat.submit()
    wait_until(lambda: answers)
    window.chat_controller.answerFinished.disconnect(answers.append)
    return answers[0]


def open_chip(window, want) -> bool:
    """Click the first chip whose citation satisfies `want`, latest answer first; False if none does."""
    for turn in reversed(window.chat.turns):
        for chip in turn.chips:
            if want(chip.citation):
                chip.click()
                return True
    return False


def open_excerpt(window, question: str) -> bool:
    """Click the quoted contract passage under the latest answer that shares the most words with the question
    (the one a reader opens), the first among equals; False if no quoted passage is of the contract."""
    from app.core.snippets import query_words

    words = query_words(question)
    quoted = [e for e in window.chat.turns[-1].excerpts.excerpts if e.citation.page is not None]
    if not quoted:
        return False
    max(quoted, key=lambda e: len(words & query_words(*e.lines))).clicked.emit()
    return True


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs/screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="folio-shots-")
    os.environ["FOLIO_HOME"] = home

    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.progress import EncodeStatus
    from app.ui.theme import app_icon, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setWindowIcon(app_icon())
    apply_theme(app, "light")
    window = MainWindow(Settings(theme="light", model_folder=model_folder(argv, home), answer_length=96))
    window.resize(*SIZE)
    window.show()
    window.status.probe_device("auto")
    window.start(None)
    wait_until(lambda: window.model.info is not None or window.model.error is not None, timeout_s=300)
    try:  # the status bar names the device once PyTorch has loaded in its child process
        wait_until(lambda: "checking" not in window.status["device"].text(), timeout_s=120)
    except TimeoutError:
        print("PyTorch did not answer within 2 minutes: the status bar still says 'checking'")
    capture(window, folder, "welcome.png")

    finished: list[object] = []
    window.ingestFinished.connect(finished.append)
    stages: list[object] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    window.open_paths([str(stdlib / name) for name in ("asyncio", "email", "json")])
    window.runner.progress.connect(stages.append)
    def encoding() -> bool:
        last = stages[-1] if stages else None
        return isinstance(last, EncodeStatus) and last.done > 0.02 * last.total

    wait_until(encoding, timeout_s=900)
    window.sidebar.tree.collapseAll()
    window.sidebar.tree.topLevelItem(0).setExpanded(True)
    row = window.sidebar.rows["json/decoder.py"]
    window.sidebar.tree.setCurrentItem(window.sidebar.item_for(row.path))
    window.open_file(row)  # browsing while the rest is encoded
    capture(window, folder, "ingest.png")
    window.cancel_ingest()
    wait_until(lambda: finished)

    window.open_sample()
    wait_until(lambda: len(finished) == 2)
    window.notice.hide()
    window.chat.new_button.click()
    ask(window, CODE_QUESTION)
    capture(window, folder, "answer.png")
    if not open_chip(window, lambda c: c.start_line is not None):
        print("no code citation in the answer: code.png shows the viewer empty")
    capture(window, folder, "code.png")

    window.chat.new_button.click()  # a chat of its own: the small model tends to repeat an earlier answer
    for question in PDF_QUESTIONS:
        ask(window, question)
        if open_excerpt(window, question) or open_chip(window, lambda c: c.page is not None):
            break
    else:  # the model cited no page of the contract: show a heading of its outline highlighted instead
        print("no PDF citation in the answers: pdf.png shows the contract opened from its outline")
        window.sidebar.tree.setCurrentItem(window.sidebar.item_for("services-agreement.pdf"))
        item = window.details.outline.findItems("Limitation of Liability", Qt.MatchFlag.MatchContains)[0]
        window.details.outline.itemActivated.emit(item, 0)
    capture(window, folder, "pdf.png")

    summaries: list[object] = []
    window.summaries.summaryFinished.connect(summaries.append)
    window.summarize_row(window.sidebar.rows["services-agreement.pdf"])
    wait_until(lambda: summaries)
    capture(window, folder, "summary.png")
    window.close()
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
