"""Run `parse_pdf` in one long-lived child process.

PyMuPDF is not thread-safe, and a hostile or broken PDF can crash MuPDF or make it spin, so
ingest never calls it in its own process. `PdfWorker` owns one child (started with the
"spawn" method: no fork of a process that has threads) and sends it one file at a time. If
the child dies (a segfault, the OOM killer) or takes longer than the per-file timeout, that
file fails with a ParseError and a fresh child serves the next one.

    with PdfWorker() as worker:
        document = worker.parse(data, "contracts/msa.pdf")
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from ingest.records import ParsedDocument, ParseError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0  # a fresh child imports PyMuPDF before it says it is ready; not counted per file
Parser = Callable[[bytes, str], ParsedDocument]


class PdfWorker:
    """One child process that parses PDFs, restarted after a crash or a timeout.

    `parser` is the function the child runs instead of `ingest.pdf.parse_pdf` (tests use it to
    make the child crash or hang); it must be importable by its module path, because the child
    is spawned, not forked. The default is imported in the child only, so PyMuPDF is never
    loaded in this process. One caller at a time: calls from several threads are serialised
    by a lock.
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, parser: Parser | None = None):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self._parser = parser
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self._closed = False

    def __enter__(self) -> PdfWorker:
        """Start the child now rather than on the first parse (ParseError if it cannot start)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("PdfWorker is closed")
            self._ensure_started()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The child's process id, or None while no child runs."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def parse(self, data: bytes, relpath: str) -> ParsedDocument:
        """Parse one PDF in the child; ParseError for a bad file, a crash, or a timeout."""
        with self._lock:
            if self._closed:
                raise RuntimeError("PdfWorker is closed")
            self._ensure_started()
            assert self._connection is not None and self._process is not None
            try:
                self._connection.send((data, relpath))
            except (BrokenPipeError, ConnectionResetError, EOFError):
                raise self._fail(relpath, "crashed", self._exit_detail()) from None
            ready = wait([self._connection, self._process.sentinel], timeout=self.timeout_s)
            if not ready:
                raise self._fail(relpath, "timed out", f"after {self.timeout_s:g} s")
            if self._connection in ready or self._connection.poll():
                try:
                    outcome = self._connection.recv()
                except (EOFError, ConnectionResetError, OSError):
                    raise self._fail(relpath, "crashed", self._exit_detail()) from None
                return _unpack(outcome)
            raise self._fail(relpath, "crashed", self._exit_detail())

    def close(self) -> None:
        """Stop the child (politely, then by force); waits for a parse in progress to end.

        Further calls to parse raise RuntimeError.
        """
        with self._lock:
            self._closed = True
            self._stop(polite=True)

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        if self._process is not None:  # died while idle: reap it before starting another
            log.warning("PDF parser process exited while idle (%s); starting a new one", self._exit_detail())
            self._stop(polite=False)
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(child_end, self._parser),
                                        name="folio-pdf-worker", daemon=True)
        process.start()
        child_end.close()  # the parent keeps only its end, so the child's death reads as EOF here
        self._process, self._connection = process, parent_end
        try:
            ready = (bool(wait([parent_end, process.sentinel], timeout=START_TIMEOUT_S))
                     and parent_end.poll() and parent_end.recv() == "ready")
        except (EOFError, OSError):
            ready = False
        if not ready:
            detail = self._exit_detail()
            self._stop(polite=False)
            raise ParseError(f"PDF parser could not start ({detail})")

    def _fail(self, relpath: str, what: str, detail: str) -> ParseError:
        """Stop the child (the next parse starts a fresh one) and return the error for this file."""
        log.warning("PDF parser %s on %s (%s); restarting it", what, relpath, detail)
        self._stop(polite=False)
        return ParseError(f"PDF parser {what} on this file ({detail})")

    def _exit_detail(self) -> str:
        process = self._process
        if process is None:
            return "not running"
        process.join(timeout=1.0)
        code = process.exitcode
        if code is None:
            return "no answer"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _stop(self, *, polite: bool) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            if polite and process is not None and process.is_alive():
                try:
                    connection.send(None)  # asks the child to leave its loop
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # already gone: nothing to ask
            connection.close()
        if process is None:
            return
        process.join(timeout=2.0 if polite else 0.0)
        if process.is_alive():
            process.kill()
            process.join(timeout=5.0)
        process.close()


def _unpack(outcome: tuple) -> ParsedDocument:
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "parse_error":
        raise ParseError(outcome[1], outcome[2])
    raise ParseError(f"PDF parser failed on this file ({outcome[1]})")


def _serve(connection: Connection, parser: Parser | None) -> None:
    """The child's loop: receive (data, relpath), answer ("ok", doc) or an error; None ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    import pymupdf

    if parser is None:
        from ingest.pdf import parse_pdf as parser

    pymupdf.TOOLS.mupdf_display_errors(False)  # problems are reported per file, not printed to stderr
    connection.send("ready")
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if request is None:
            return
        data, relpath = request
        started = time.perf_counter()
        try:
            outcome: tuple = ("ok", parser(data, relpath))
        except ParseError as exc:
            outcome = ("parse_error", exc.reason, exc.status)
        except Exception as exc:  # a bug on one file must not take down the worker
            log.exception("PDF parser raised on %s", relpath)
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        log.debug("parsed %s in %.2f s", relpath, time.perf_counter() - started)
        try:
            connection.send(outcome)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
