"""Extractive "passage" questions about real prose: find the one sentence that answers, and copy it.

A user asks a contract "How many days does the client have to pay an invoice?"; the model has to find the
sentence that says so among its retrieved chunks and quote it. These questions teach that on real text:
the sentences of prose files (Markdown, reStructuredText, plain text, licenses) and of Python docstrings.
A question names 2-3 distinctive words of its sentence, or a short phrase of it, chosen so that no other
sentence of the file holds them all: the answer is then that one sentence, and the chunk holding its
start_line the retrieval target. A sentence that opens a section can instead be asked by its heading
("What does the section on Limitation of Liability say?"). Words are sometimes asked without their plural
"s", as a user might type them, so that an exact match is not needed. With `varied` (the training stream's
questions) half of them take a form a user types instead: another frame ("How does it handle late payment
and interest?", "Which part covers invoice and receipt?", bare keywords), the words in any order, and for a
sentence that counts a unit ("within thirty (30) days"), "How many days ...?". The answer is the sentence as
written, its whitespace collapsed, so that every token of it can be copied from the source: code, tables,
headings and sentences heavy with markup are left out rather than cleaned up.
"""

from __future__ import annotations

import ast
import bisect
import random
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass

from model.data.codeqa import QA

MAX_QUESTIONS = 64  # per file, spread over it
MIN_WORDS, MAX_WORDS = 8, 40
MAX_SENTENCE_CHARS = 220
PLAIN_SHARE = 0.7  # of a sentence's words that must be plain words
PROSE_SUFFIXES = (".md", ".markdown", ".rst", ".txt")
HASH_HEADINGS = (".md", ".markdown", ".txt")  # where "# Title" is a heading (and ~~~ a fence)
LICENSE_NAMES = ("LICENSE", "LICENCE", "COPYING")

# a sentence ends at . ! ? (and closing quotes or brackets) before whitespace and an uppercase letter
_BOUNDARY = re.compile(r"([.!?][\"')\]]*)\s+(?=[\"'(]?[A-Z])")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")  # e.g. i.e. U.S. J.
_ABBREVIATIONS = frozenset("mr. mrs. ms. dr. prof. vs. cf. no. nos. fig. figs. approx. jr. sr. st. sec. "
                           "art. vol. pp. ch. eq. ref. al. resp.".split())
_PLAIN = re.compile(r"(?<!\S)[(\"']?[A-Za-z]+(?:['’-][A-Za-z]+)*[.,;:!?)\"']*(?!\S)")  # a plain word
_CONTENT = re.compile(r"[a-z]{4,}")  # the words that can tell sentences apart (lowercase text)
_CANDIDATE = re.compile(r"(?<![^\s\"'(\[“])[A-Za-z]{4,}(?=[\"')\],.;:!?’”]*(?:\s|$))")
_UNDERSCORED = re.compile(r"[A-Za-z0-9]_|_[A-Za-z0-9]")
_NEVER = ("::", ">>>", "http", "www.", "\\", "|", "](", "..")
_MARKUP = "{}=`"

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
_SMALL = frozenset("a an and as at by for from in into of on or per the to with without".split())
_CAPS_LINE = re.compile(r"[A-Z][A-Z0-9 ,'&/-]*[A-Z]")
_HEADING_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9 ,'&/-]*")
_FIELD = re.compile(r":[\w ]+:")  # rst field list, ":param x: ..."
_LINK_DEFINITION = re.compile(r"\[[^\]]+\]:\s")
_OPEN_QUOTE = re.compile(r"[rRuU]?(\"\"\"|'''|\"|')")
_BLOCKS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.If, ast.For, ast.AsyncFor, ast.While,
           ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.ExceptHandler)
_EDGE_PUNCTUATION = "\"'()[],.;:!?’“”"

_STOP = frozenset("""
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

_TWO_WORDS = ("What does it say about {words}?", "What is said about {words}?",
              "Find the passage about {words}.", "What does the text say about {words}?")
_THREE_WORDS = ("What is said about {words}?", "What does it say about {words}?",
                "Find the passage about {words}.")
_PHRASE = ("What does the text say about {words}?", "What does it say about {words}?",
           "Find the passage about {words}.", "What is said about {words}?")
_IN_FILE = "What does {basename} say about {words}?"
_USER = ("How does it handle {words}?", "What are the rules on {words}?", "What happens with {words}?",
         "Is there anything on {words}?", "Tell me about {words}.", "Where does it talk about {words}?",
         "What is the rule for {words}?", "Which part covers {words}?",
         "What do I need to know about {words}?", "Anything about {words}?",
         "What does it say regarding {words}?", "Explain {words}.", "{words}?")
_HOW_MANY = ("How many {unit} for {words}?", "How many {unit} does it give for {words}?",
             "Within how many {unit} {words}?", "How many {unit}: {words}?")
_UNITS = ("seconds minutes hours days weeks months years times percent bytes characters lines items entries "
          "copies attempts retries levels").split()
_COUNTED = re.compile(r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                      r"fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred)(?:-\w+)?\)?\s+(?:\(\d+\)\s+)?"
                      r"(" + "|".join(_UNITS) + r")\b", re.IGNORECASE)
_SECTION = ("What does the section on {heading} say?", "What does it say about {lower}?",
            "What does the {heading} section say?")


@dataclass(slots=True)
class _Sentence:
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
    if not 1 <= len(words) <= 8 or words[0] in _SMALL:
        return None
    return text if all(w in _SMALL or _TITLE_WORD.fullmatch(w) for w in words) else None


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


def _keep(text: str) -> bool:
    """A sentence worth asking about: plain prose of a sensible length, copied as written."""
    if len(text) > MAX_SENTENCE_CHARS or not (text[0].isupper() or text[0] in "\"'“"):
        return False
    words = text.count(" ") + 1  # its whitespace is collapsed
    if not MIN_WORDS <= words <= MAX_WORDS or not text.rstrip("\"')”’").endswith("."):
        return False
    if any(s in text for s in _NEVER) or sum(text.count(c) for c in _MARKUP) > 2:
        return False
    if _UNDERSCORED.search(text) or sum(text.count(c) for c in "*[]<>") > 4:
        return False
    return len(_PLAIN.findall(text)) >= PLAIN_SHARE * words


def _sentences(para: list[tuple[int, str]], section: int) -> list[_Sentence]:
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
            words = frozenset(_CONTENT.findall(text.lower())) - _STOP
            out.append(_Sentence(text, first, last, section, words))
    return out


def _prose_sentences(source: str, hash_headings: bool) -> tuple[list[_Sentence], list[str]]:
    """The sentences of a prose file, and its headings (headings[0] = "": before the first one)."""
    lines = list(enumerate(source.split("\n"), start=1))
    base = min((_indent(text) for _, text in lines if text.strip()), default=0)
    headings = [""]
    paragraphs = _paragraphs(lines, base, hash_headings, headings)
    return [s for section, para in paragraphs for s in _sentences(para, section)], headings


def _docstring_sentences(source: str) -> list[_Sentence]:
    """Sentences of the module's, classes' and functions' docstrings, placed on their source lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old code
        tree = ast.parse(source)
    lines = source.split("\n")
    found: list[_Sentence] = []
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


def _shown(word: str, first: bool, shouting: bool) -> str:
    """A word as a user would type it: lowercase, unless a name or acronym within the sentence."""
    if shouting or (first and word[1:] == word[1:].lower()):
        return word.lower()
    return word


def _singular(word: str) -> str | None:
    """The word without a plural "s", as a user might type it ("invoices" -> "invoice")."""
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ies", "xes", "zes",
                                                                   "ches", "shes")):
        return word[:-1]
    return None


def _and_list(words: list[str]) -> str:
    """"a and b", "a, b and c"."""
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _user_form(shown: list[str], text: str, rng: random.Random, phrase: bool = False) -> str:
    """The words in a frame a user might type: any order (a phrase keeps its own), joined by "and", commas
    or nothing; "How many days ...?" when the sentence counts a unit the words leave out."""
    counted = {m.group(1).lower() for m in _COUNTED.finditer(text)} - {w.lower() for w in shown}
    if not phrase:
        shown = rng.sample(shown, len(shown)) if rng.random() < 0.5 else shown
        joiner = rng.choice((" and ", ", ", " "))
        words = _and_list(shown) if joiner == " and " else joiner.join(shown)
    else:
        words = " ".join(shown)
    if counted and rng.random() < 0.7:
        return rng.choice(_HOW_MANY).format(unit=rng.choice(sorted(counted)), words=words)
    frame = rng.choice(_USER)
    return frame.format(words=words[:1].upper() + words[1:] if frame.startswith("{") else words)


def _passage_question(index: int, sentence: _Sentence, occurs: dict[str, set[int]], basename: str,
                      rng: random.Random, varied: bool = False) -> str | None:
    """A question naming words (or a phrase) of the sentence that no other sentence of the file holds."""
    text = sentence.text
    candidates: dict[str, tuple[int, str]] = {}  # lowercase word -> (character offset, word as written)
    for match in _CANDIDATE.finditer(text):
        word = match.group()
        key = word.lower()
        if key not in _STOP and key not in candidates:
            candidates[key] = (match.start(), word)
    if len(candidates) < 2:
        return None
    tokens = text.split()
    shouting = sum(1 for t in tokens if t.isupper() and len(t) > 1) > len(tokens) / 2

    def others(keys: list[str]) -> set[int]:
        """The other sentences that hold all these words."""
        left = occurs[keys[0]] - {index}
        for key in keys[1:]:
            left &= occurs[key]
        return left

    if rng.random() < 0.3:  # a phrase: 2-4 words of the sentence, from a content word to a content word
        phrases = []
        for i, token in enumerate(tokens):
            if token.lower() not in candidates:
                continue
            for j in range(i + 1, min(i + 4, len(tokens))):
                last = tokens[j].rstrip(".,;:)\"'")
                if not last.isalpha() or last.lower() not in candidates and last.lower() not in _SMALL:
                    break  # a phrase reads on through content and small words: "limitation of liability"
                if last.lower() in candidates:
                    keys = [t.lower() for t in (*tokens[i:j], last) if t.lower() in candidates]
                    if not others(keys):
                        phrases.append((i, [*tokens[i:j], last]))
                if last != tokens[j]:
                    break
        if phrases:
            start, phrase = rng.choice(phrases)
            shown = [_shown(w, start + k == 0, shouting) for k, w in enumerate(phrase)]
            if rng.random() < 0.25 and (singular := _singular(shown[-1])):
                shown[-1] = singular
            if varied and rng.random() < 0.5:
                return _user_form(shown, text, rng, phrase=True)
            return rng.choice(_PHRASE).format(words=" ".join(shown))

    wanted = 3 if rng.random() < 0.3 else 2
    tie = {key: rng.random() for key in candidates}
    chosen = [min(candidates, key=lambda key: (len(occurs[key]), tie[key]))]  # the rarest word first
    left = occurs[chosen[0]] - {index}  # the other sentences holding all chosen words
    while len(chosen) < min(3, len(candidates)) and (left or len(chosen) < wanted):
        best = min((key for key in candidates if key not in chosen),
                   key=lambda key: (len(left & occurs[key]), len(occurs[key]), tie[key]))
        chosen.append(best)
        left &= occurs[best]
    if left:
        return None
    chosen.sort(key=lambda key: candidates[key][0])
    shown = [_shown(candidates[key][1], candidates[key][0] <= 1, shouting) for key in chosen]
    if rng.random() < 0.25:
        plural = [k for k, w in enumerate(shown) if _singular(w)]
        if plural:
            k = rng.choice(plural)
            shown[k] = _singular(shown[k]) or shown[k]
    if varied and rng.random() < 0.5:
        return _user_form(shown, text, rng)
    words = _and_list(shown)
    if rng.random() < 0.08:
        return _IN_FILE.format(basename=basename, words=words)
    return rng.choice(_TWO_WORDS if len(shown) == 2 else _THREE_WORDS).format(words=words)


def _placed(sentence: _Sentence, lines: list[str]) -> bool:
    """Whether the sentence's first and last words are on its first and last source lines."""
    words = sentence.text.split()
    return words[0] in lines[sentence.start_line - 1] and words[-1] in lines[sentence.end_line - 1]


def _questions(sentences: list[_Sentence], headings: list[str], lines: list[str], basename: str,
               rng: random.Random, varied: bool) -> list[QA]:
    """One question for each sentence worth asking that can be told apart; the first one of a section with
    a heading of its own is asked by that heading."""
    occurs: defaultdict[str, set[int]] = defaultdict(set)  # word -> the sentences holding it
    for i, sentence in enumerate(sentences):
        for word in sentence.words:
            occurs[word].add(i)
    for h, heading in enumerate(headings[1:], start=1):  # a heading holding the words would do as well
        for word in _CONTENT.findall(heading.lower()):
            occurs[word].add(-h)
    heading_counts: dict[str, int] = {}
    for heading in headings[1:]:
        heading_counts[heading.lower()] = heading_counts.get(heading.lower(), 0) + 1
    found: list[QA] = []
    names: set[str] = set()
    asked_sections: set[int] = set()
    for i, sentence in enumerate(sentences):
        if not _keep(sentence.text) or not _placed(sentence, lines):
            continue
        question = None
        if sentence.section and sentence.section not in asked_sections:
            asked_sections.add(sentence.section)
            heading = headings[sentence.section]
            if (2 <= len(heading.split()) <= 8 and _HEADING_TEXT.fullmatch(heading)
                    and heading_counts[heading.lower()] == 1):
                shown = heading.lower() if heading.isupper() else heading
                question = rng.choice(_SECTION).format(heading=shown, lower=heading.lower())
        if question is None:
            question = _passage_question(i, sentence, occurs, basename, rng, varied)
        if question is None:
            continue
        name = f"L{sentence.start_line}"
        n = 2
        while name in names:
            name, n = f"L{sentence.start_line}.{n}", n + 1
        names.add(name)
        found.append(QA(question, sentence.text, "passage", name, sentence.start_line, sentence.end_line))
    if len(found) > MAX_QUESTIONS:
        found = found[::-(-len(found) // MAX_QUESTIONS)]
    return found


def _name_and_suffix(path: str) -> tuple[str, str]:
    basename = path.replace("\\", "/").rsplit("/", 1)[-1]
    return basename, "." + basename.rsplit(".", 1)[-1].lower() if "." in basename else ""


def is_prose(path: str) -> bool:
    """Whether passage_questions reads the file as prose: Markdown, reStructuredText, text, a license."""
    basename, suffix = _name_and_suffix(path)
    return suffix in PROSE_SUFFIXES or basename.upper().startswith(LICENSE_NAMES)


def passage_questions(source: str, path: str, rng: random.Random, varied: bool = False) -> list[QA]:
    """Questions answered by one sentence of a prose file (is_prose) or of a .py file's docstrings, at most
    one per sentence and MAX_QUESTIONS per file, in source order; phrasing varies with `rng`, and with
    `varied` half the questions take a user's forms (_user_form). [] for other files and for anything that
    cannot be read."""
    basename, suffix = _name_and_suffix(path)
    try:
        if is_prose(path):
            sentences, headings = _prose_sentences(source, suffix in HASH_HEADINGS)
        elif suffix == ".py":
            sentences, headings = _docstring_sentences(source), [""]
        else:
            return []
        return _questions(sentences, headings, source.split("\n"), basename, rng, varied)
    except Exception:  # a data loader must not stop on one odd file
        return []
