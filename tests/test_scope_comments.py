"""Scope comments: what the model reads names each method's class (ingest/scopes.py for the app's documents,
model/data/scopes.py for the training corpus), while every line keeps its number and everything shown to the
user is the file's own text."""

import random
import sysconfig
from pathlib import Path

from ingest.parse import parse_file
from model.data.codeqa import code_questions
from model.data.corpus import Corpus
from model.data.scopes import scope_comments
from model.tokenizer import Tokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])

SOURCE = '''import functools


class Request:
    """An HTTP request."""

    @functools.cached_property
    def cookies(self):
        """Return request cookies."""
        return {}

    if True:
        async def post(self, data,
                       timeout=None):
            """Send the form."""

    class Body:
        def read(self): return b""

    def joined(self): \\
        return 1


def post(url):
    """Post to a URL."""
'''


def test_the_app_and_the_training_corpus_write_the_same_comments():
    files = [STDLIB / "random.py", STDLIB / "dis.py", *sorted((STDLIB / "json").glob("*.py")),
             *sorted((STDLIB / "email").glob("*.py"))[:12]]
    written = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        read = parse_file(source.encode("utf-8"), path.name).text.split("\n", 1)[1]
        assert read == scope_comments(source), path
        written += read.count("  # ") - source.count("  # ")
    assert written > 200  # every method of these modules


def test_a_method_names_its_class_and_every_line_keeps_its_number():
    document = parse_file(SOURCE.encode("utf-8"), "web/request.py")
    read = document.text.split("\n")[1:]  # line 1 of the text is the path
    file_lines = SOURCE.split("\n")
    assert read[7] == "    def cookies(self):  # Request.cookies"  # the def line, not the decorator above it
    assert read[12] == "        async def post(self, data,  # Request.post"  # inside an if: still a member
    assert read[16] == "    class Body:  # Request.Body"
    assert read[17] == '        def read(self): return b""  # Request.Body.read'
    assert read[19] == "    def joined(self): \\"  # a comment cannot follow a line continuation
    assert read[23] == "def post(url):"  # a module's own function: its line already says what it is
    assert len(read) == len(file_lines)
    assert "\n".join(read) == scope_comments(SOURCE)  # the training corpus reads the same
    for span in document.spans:  # the line's span is the file's line: citations and summaries show that
        assert document.text[span.start:span.end] == file_lines[span.line - 1]


def test_where_questions_answer_with_the_line_as_the_file_has_it(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "request.py").write_text(SOURCE, encoding="utf-8")
    corpus = Corpus.build({"web": [tmp_path / "web" / "request.py"]}, Tokenizer.load(), ["web"], workers=1,
                          roots=[tmp_path])
    assert "def cookies(self):  # Request.cookies\n" in corpus.text(0)  # what the model is trained on
    where = {qa.name: qa.answer for qa in code_questions(corpus.source(0), corpus.path(0), random.Random(0))
             if qa.kind == "where"}
    assert where["Request.cookies"] == "def cookies(self): — Return request cookies."
    assert where["post"] == "def post(url): — Post to a URL."
    plain = Corpus.build({"web": [tmp_path / "web" / "request.py"]}, Tokenizer.load(), ["web"], workers=1,
                         roots=[tmp_path], scopes=False)
    assert plain.source(0) == SOURCE  # model.data.build --no-scope-comments: the text losses were measured on
