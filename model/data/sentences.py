"""The sentences of real prose and of Python docstrings, each placed on the source lines it spans.

What passage questions (prose.py) are asked about. Prose files (Markdown, reStructuredText, plain text,
licenses) are split into paragraphs, skipping code blocks, tables, field lists and link definitions, and
noting headings (Markdown "#", underlined reStructuredText, one-line numbered or capitalised headings, a
title before a sentence on its line) so that a sentence knows its section. Docstrings are read from the
parse tree's module, class and function bodies. A paragraph splits into sentences at . ! ? before an
uppercase letter, abbreviations and initials aside.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from dataclasses import dataclass

# a sentence ends at . ! ? (and closing quotes or brackets) before whitespace and an uppercase letter
_BOUNDARY = re.compile(r"([.!?][\"')\]]*)\s+(?=[\"'(]?[A-Z])")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")  # e.g. i.e. U.S. J.
_ABBREVIATIONS = frozenset("mr. mrs. ms. dr. prof. vs. cf. no. nos. fig. figs. approx. jr. sr. st. sec. "
                           "art. vol. pp. ch. eq. ref. al. resp.".split())
CONTENT_WORD = re.compile(r"[a-z]{4,}")  # the words that can tell sentences apart (lowercase text)

_FENCE = re.compile(r"```|~~~")
_UNDERLINE = re.compile(r"([=\-~^\"'`#*+_:.])\1{2,}")
_HASH_HEADING = re.compile(r"#{1,6}\s+(.*?)[\s#]*")
_BULLET = re.compile(r"(?:[-*+•]|\d{1,3}[.)]|\(?[a-zA-Z0-9]{1,3}\))\s+")
_ARGUMENT = re.compile(r"\*{0,2}[A-Za-z_]\w*(?: \([^)]*\))?: ")  # "overflow (str, optional): How to ..."
_NUMBERED = re.compile(  # "7. Limitation of Liability", "ARTICLE 7 - LIMITATION OF LIABILITY", "2.1 Scope"
    r"(?:(?:ARTICLE|Article|SECTION|Section|CHAPTER|Chapter|PART|Part)\s+(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6})"
    r"\.?|\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}\.|[IVX]{1,5}\.)\s*[-–—:.]?\s+(\S.*)")
_INLINE_TITLE = re.compile(r"([^.]{2,80})\.\s+(?=[\"'(]?[A-Z])")  # "Grant of Copyright License. Subject to"
_TITLE_WORD = re.compile(r"[A-Z0-9][A-Za-z0-9'’&/-]*,?")
SMALL_WORDS = frozenset("a an and as at by for from in into of on or per the to with without".split())
_CAPS_LINE = re.compile(r"[A-Z][A-Z0-9 ,'&/-]*[A-Z]")
_FIELD = re.compile(r":[\w ]+:")  # rst field list, ":param x: ..."
_LINK_DEFINITION = re.compile(r"\[[^\]]+\]:\s")
_OPEN_QUOTE = re.compile(r"[rRuU]?(\"\"\"|'''|\"|')")
_BLOCKS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.For, ast.AsyncFor, ast.While,
           ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.ExceptHandler)

# words too common to tell one sentence from another: never a sentence's words, never asked by
STOP_WORDS = frozenset("""
able about above according across actually after again against almost along already also although always
among another anyone anything anyway anywhere around away back because been before behind being below
beside besides between beyond both came cannot could does doing done down during each either else enough
even ever every example examples except fact following found from further gets give given gives going gone
good have having here hereby herein himself however indeed instead into itself just keep kept know last
least less like likely made make makes many maybe mean means might more moreover most mostly much must
myself near nearly need needs neither never next none nothing note noted often once only onto other others
otherwise over perhaps please possible rather really same seem seems several shall should show shown since
some somehow something sometimes somewhat still such sure take taken than that their theirs them themselves
then there thereby therefore these they thing things this those though through thus together toward towards
under unless unlike until upon used uses using usually various very want wants well were what whatever when
whenever where whereas wherever whether which while whom whose will with within without would your yours
yourself return returns returned value values true false self default argument arguments parameter
parameters object objects instance optional specified
""".split())


@dataclass(slots=True)
class Sentence:
    text: str  # whitespace collapsed
    start_line: int
    end_line: int
    section: int  # index into the file's headings, 0: before any
    words: frozenset[str]  # lowercase, whole words


def _indent(line: str) -> int:
    n = len(line) - len(line.lstrip(" \t"))
    return n + 3 * line.count("\t", 0, n) if n else 0  # a tab as 4 spaces


def _title(text: str) -> str | None:
    """`text` as a heading if it reads like one: 1-8 words, each capitalized (or a small word)."""
    text = text.strip().rstrip(".:").strip()
    words = text.split()
    if not 1 <= len(words) <= 8 or words[0] in SMALL_WORDS:
        return None
    return text if all(w in SMALL_WORDS or _TITLE_WORD.fullmatch(w) for w in words) else None


def _standalone_heading(line: str) -> str | None:
    """A one-line paragraph that is a heading: "7. Limitation of Liability", "NO WARRANTY"."""
    numbered = _NUMBERED.fullmatch(line)
    if numbered:
        return _title(numbered.group(1))
    caps = line.rstrip(".:")
    if _CAPS_LINE.fullmatch(caps) and len(caps.split()) <= 8:
        return caps
    return None


def _paragraphs(lines: list[tuple[int, str]], base: int, hash_headings: bool,
                headings: list[str] | None) -> list[tuple[int, list[tuple[int, str]]]]:
    """The prose paragraphs of `lines` ((line number, text)) as (section, lines), code, tables, markup
    lines and headings left out. `base` is the indentation of plain text. Headings are appended to
    `headings` (None: ignore them); a paragraph's section is the index of the heading it follows."""
    out: list[tuple[int, list[tuple[int, str]]]] = []
    para: list[tuple[int, str]] = []
    first_line = ""  # the paragraph's first line as written (a one-line paragraph may be a heading)
    para_indent = 0
    section = 0
    fence = ""
    skip_deeper = -1  # while >= 0, blank lines and lines indented deeper than this are skipped
    skip_to_blank = False
    after_blank = True

    def flush() -> None:
        nonlocal para, section
        if para:
            title = _standalone_heading(first_line) if headings is not None and len(para) == 1 else None
            if title:
                headings.append(title)
                section = len(headings) - 1
            else:
                out.append((section, para))
        para = []

    def open_section(title: str) -> None:
        nonlocal section
        if headings is not None:
            headings.append(title.strip().rstrip(".:").strip())
            section = len(headings) - 1

    for k, (lineno, raw) in enumerate(lines):
        stripped = raw.strip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        indent = _indent(raw)
        if skip_deeper >= 0:
            if not stripped or indent > skip_deeper:
                continue
            skip_deeper = -1
        if skip_to_blank:
            if stripped:
                continue
            skip_to_blank = False
        if not stripped:
            flush()
            after_blank = True
            continue
        was_blank, after_blank = after_blank, False
        fenced = _FENCE.match(stripped)
        if fenced and (fenced.group() == "```" or hash_headings):
            flush()
            fence = fenced.group()
            continue
        if indent - base >= 4 and not para and was_blank:  # an indented code block, or a centered heading
            title = _standalone_heading(stripped) if headings is not None else None
            if title and (k + 1 == len(lines) or not lines[k + 1][1].strip()):
                open_section(title)
            else:
                skip_deeper = base + 3
            continue
        if _UNDERLINE.fullmatch(stripped):  # a title's underline (or overline), a rule, a simple table
            title = para.pop()[1] if para else ""
            flush()
            if title:
                open_section(title)
            continue
        if stripped.startswith(("|", "+-", "+=", "<", "![", ">")) or stripped.count("|") >= 2 \
                or _LINK_DEFINITION.match(stripped):  # tables, HTML, images, quotes, link definitions
            flush()
            if stripped.startswith(">>>"):
                skip_to_blank = True
            continue
        if stripped.startswith(".. ") or stripped == ".." or _FIELD.match(stripped):  # directives, fields
            flush()
            skip_deeper = indent
            continue
        hashed = _HASH_HEADING.fullmatch(stripped) if hash_headings else None
        if hashed:
            flush()
            open_section(hashed.group(1))
            continue
        if not para and stripped.endswith(":") and not stripped.endswith("::") and len(stripped.split()) <= 3:
            continue  # a label ("Args:", "Returns:"): what follows is a paragraph of its own
        if para and (_BULLET.match(stripped) or _ARGUMENT.match(stripped)):
            flush()  # the next item of a list, or of a docstring's arguments
        text = stripped
        if not para:
            first_line, para_indent = stripped, indent
            numbered = _NUMBERED.fullmatch(stripped) if headings is not None else None
            inline = _INLINE_TITLE.match(numbered.group(1)) if numbered else None
            if inline and _title(inline.group(1)):
                open_section(inline.group(1))
                text = numbered.group(1)[inline.end():]
            else:
                bullet = _BULLET.match(stripped)
                text = stripped[bullet.end():] if bullet else stripped
        para.append((lineno, text))
        if stripped.endswith("::"):  # an rst literal block follows
            flush()
            skip_deeper = para_indent
    flush()
    return out


def _sentences(para: list[tuple[int, str]], section: int) -> list[Sentence]:
    """The paragraph's sentences with the source lines they span."""
    starts: list[int] = []
    numbers: list[int] = []
    parts: list[str] = []
    at = 0
    for lineno, text in para:
        collapsed = " ".join(text.split())
        if collapsed:
            starts.append(at)
            numbers.append(lineno)
            parts.append(collapsed)
            at += len(collapsed) + 1
    joined = " ".join(parts)
    spans = []
    begin = 0
    for match in _BOUNDARY.finditer(joined):
        if match.group(1)[0] == ".":
            token = joined[joined.rfind(" ", 0, match.start()) + 1:match.start() + 1].lstrip("([\"'")
            if token.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(token):
                continue
        spans.append((begin, match.end(1)))
        begin = match.end()
    spans.append((begin, len(joined)))
    out = []
    for begin, end in spans:
        text = joined[begin:end].strip()
        if text:
            first = numbers[bisect.bisect_right(starts, begin) - 1]
            last = numbers[bisect.bisect_right(starts, end - 1) - 1]
            words = frozenset(CONTENT_WORD.findall(text.lower())) - STOP_WORDS
            out.append(Sentence(text, first, last, section, words))
    return out


def prose_sentences(source: str, hash_headings: bool) -> tuple[list[Sentence], list[str]]:
    """The sentences of a prose file, and its headings (headings[0] = "": before the first one)."""
    lines = list(enumerate(source.split("\n"), start=1))
    base = min((_indent(text) for _, text in lines if text.strip()), default=0)
    headings = [""]
    paragraphs = _paragraphs(lines, base, hash_headings, headings)
    return [s for section, para in paragraphs for s in _sentences(para, section)], headings


def docstring_sentences(source: str) -> list[Sentence]:
    """Sentences of the module's, classes' and functions' docstrings, placed on their source lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old code
        tree = ast.parse(source)
    lines = source.split("\n")
    found: list[Sentence] = []
    stack: list[ast.AST] = [tree]
    while stack:  # statements only: walking every expression node would cost more than the parse
        node = stack.pop()
        for field in ("body", "orelse", "finalbody", "handlers"):
            stack.extend(child for child in getattr(node, field, ()) if isinstance(child, _BLOCKS))
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = node.body[0] if node.body else None
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)) or first.end_lineno is None:
            continue
        start, end = first.lineno, first.end_lineno
        if end > len(lines):
            continue
        head = lines[start - 1].encode()
        tail = lines[end - 1].encode()
        if start == end:
            segment = [head[first.col_offset:first.end_col_offset].decode(errors="replace")]
        else:
            segment = [head[first.col_offset:].decode(errors="replace"), *lines[start:end - 1],
                       tail[:first.end_col_offset].decode(errors="replace")]
        literal = "\n".join(segment)
        opened = _OPEN_QUOTE.match(literal)
        if not opened:
            continue
        quote = opened.group(1)
        inner = literal[opened.end():len(literal) - len(quote)]
        if len(literal) < opened.end() + len(quote) or not literal.endswith(quote) \
                or quote in inner.replace("\\" + quote[0], ""):  # implicitly concatenated strings
            continue
        numbered = list(zip(range(start, end + 1), inner.split("\n"), strict=True))
        base = min((_indent(text) for _, text in numbered[1:] if text.strip()), default=0)
        for _, para in _paragraphs(numbered, base, False, None):
            found.extend(_sentences(para, 0))
    found.sort(key=lambda s: s.start_line)
    return found
