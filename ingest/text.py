"""Text files: decoding, line spans, and the headings of Markdown and reStructuredText.

Everything here works on text whose line ends are already "\\n": `decode` turns CRLF and
lone CR into "\\n", so line N here is line N in the user's editor.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from ingest.records import Heading, ParseError, Span

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Past this share of undecodable characters a file is binary data, not text with a few bad bytes.
_MAX_REPLACED_SHARE = 0.3


def decode(data: bytes) -> tuple[str, list[str]]:
    """File bytes -> (text with "\\n" line ends, warnings). Raises ParseError for empty or binary files."""
    if not data:
        raise ParseError("empty file", status="skipped")
    codec, bom = "utf-8", b""
    for mark, name in _BOMS:
        if data.startswith(mark):
            codec, bom = name, mark
            break
    body = data[len(bom) :]
    if codec == "utf-8":  # other codecs hold NUL bytes in ordinary text: check them after decoding
        nul = body.find(b"\0")
        if nul >= 0:
            raise ParseError(f"binary content (NUL byte at offset {nul + len(bom)})", status="skipped")
    warnings: list[str] = []
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        text = body.decode(codec, errors="replace")
        warnings.append(
            f"not valid {codec.upper()} (first bad byte at offset {error.start + len(bom)}); "
            "undecodable bytes are shown as U+FFFD"
        )
    if "\0" in text:
        raise ParseError(f"binary content (NUL character in {codec.upper()} text)", status="skipped")
    if warnings and text.count("\ufffd") > _MAX_REPLACED_SHARE * len(text):
        raise ParseError("binary content (mostly not valid text)", status="skipped")
    if not text:
        raise ParseError("empty file", status="skipped")
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


def split_lines(text: str) -> list[str]:
    """Source lines of "\\n"-ended text; a final line end does not start another line."""
    lines = text.split("\n")
    if lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return lines


def line_spans(lines: list[str], offset: int, read: list[str] | None = None) -> list[Span]:
    """One span per line: the line's characters in a document where line 1 starts at `offset`. `read`: the
    lines as the document text has them when it adds to their ends (scope comments, ingest/scopes.py); each
    span still covers only the file's own characters."""
    spans = []
    start = offset
    for number, (line, in_text) in enumerate(zip(lines, read or lines, strict=True), start=1):
        spans.append(Span(start, start + len(line), number))
        start += len(in_text) + 1  # past the "\n"
    return spans


# Markdown (CommonMark) -----------------------------------------------------------------------

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)$")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")  # ---, * * *, ___
_BLOCK_START = re.compile(r" {0,3}(?:[-+*>]|\d{1,9}[.)])(?:[ \t]|$)")  # list item or block quote
_FRONT_MATTER = {"---": ("---", "..."), "+++": ("+++",)}  # YAML / TOML front matter


def markdown_headings(lines: list[str]) -> list[Heading]:
    """ATX (`## Title`) and setext (`Title` over `===` or `---`) headings outside code, HTML comments
    and front matter."""
    headings: list[Heading] = []
    paragraph: list[int] = []  # line indexes of the open paragraph
    fence: tuple[str, int] | None = None  # (fence character, length) while inside fenced code
    in_comment = False
    index = _skip_front_matter(lines)
    while index < len(lines):
        line = lines[index]
        if fence is not None:
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= fence[1]:
                if not closing.group(2).strip():
                    fence = None
        elif in_comment:
            in_comment = "-->" not in line
        elif not line.strip():
            paragraph = []
        elif (opening := _FENCE.match(line)) and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence, paragraph = (opening.group(1)[0], len(opening.group(1))), []
        elif atx := _ATX.match(line):
            title = (atx.group(2) or "").strip()
            if title:
                headings.append(Heading(title, len(atx.group(1)), line=index + 1))
            paragraph = []
        elif paragraph and _SETEXT.match(line) and not _BLOCK_START.match(lines[paragraph[0]]):
            title = " ".join(lines[i].strip() for i in paragraph)
            level = 1 if line.strip()[0] == "=" else 2
            headings.append(Heading(title, level, line=paragraph[0] + 1))
            paragraph = []
        elif _THEMATIC_BREAK.match(line):  # a rule ends a paragraph and starts none
            paragraph = []
        elif line.lstrip().startswith("<!--"):
            in_comment = "-->" not in line.split("<!--", 1)[1]
            paragraph = []
        elif paragraph or len(line) - len(line.lstrip(" ")) < 4:  # 4+ spaces open indented code
            paragraph.append(index)
        index += 1
    return headings


def _skip_front_matter(lines: list[str]) -> int:
    closers = _FRONT_MATTER.get(lines[0].rstrip()) if lines else None
    if closers is None:
        return 0
    for index in range(1, len(lines)):
        if lines[index].rstrip() in closers:
            return index + 1
    return 0  # no closing line: it was not front matter


# reStructuredText ----------------------------------------------------------------------------

_ADORNMENT = re.compile(r"""([!-/:-@\[-`{-~])\1*[ \t]*$""")  # one punctuation character, repeated


def rst_headings(lines: list[str]) -> list[Heading]:
    """Section titles: a title line under an optional overline and over an underline of one repeated
    punctuation character. A title's level is the order in which its adornment style first appears."""
    headings: list[Heading] = []
    levels: dict[tuple[str, bool], int] = {}
    index = 0
    after_break = True  # at the start, after a blank line, or after a title
    while index < len(lines):
        title, used = _rst_title(lines, index, after_break)
        if title is not None:
            style, text = title
            level = levels.setdefault(style, len(levels) + 1)
            title_index = index + 1 if style[1] else index  # under an overline, the title is the next line
            headings.append(Heading(text, level, line=title_index + 1))
            index += used
            after_break = True
            continue
        after_break = not lines[index].strip()
        index += 1
    return headings


_Title = tuple[tuple[str, bool], str]  # ((adornment character, has an overline), title text)


def _rst_title(lines: list[str], index: int, after_break: bool) -> tuple[_Title | None, int]:
    """The title starting at `index`, if any, and how many lines it takes."""
    line = lines[index]
    over = _ADORNMENT.match(line)
    if over and index + 2 < len(lines):
        text, under = lines[index + 1], lines[index + 2].rstrip()
        if (
            text.strip()
            and not _ADORNMENT.match(text)
            and under == line.rstrip()
            and len(under) >= _width(text.strip())
        ):
            return ((line[0], True), text.strip()), 3
    if not after_break or not line.strip() or line[0].isspace() or over or index + 1 >= len(lines):
        return None, 1
    under_match = _ADORNMENT.match(lines[index + 1])
    if under_match is None:
        return None, 1
    under = lines[index + 1].rstrip()
    # Docutils takes a short underline only when it is at least 4 characters long.
    if len(under) < _width(line.rstrip()) and len(under) < 4:
        return None, 1
    return ((under[0], False), line.strip()), 2


def _width(text: str) -> int:
    """Columns a title takes: wide East Asian characters count twice, as in docutils."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
