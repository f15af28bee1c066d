"""What each definition of a code file does, read from its own words: its docstring or the comment above it.

The store keeps every definition tree-sitter found with its line range; this module reads the source
lines around it. Python: the docstring after the signature, else a `#` comment block right above (and
above its decorators). Other languages: the comment block right above the definition (`//`, `///`, `#`,
`--`, `/* ... */`, `/** ... */`), which is where their documentation lives. The first sentence is the
summary; a definition without either gets an empty summary (nothing is made up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Definition
from ingest.store import StoredDocument

MAX_SUMMARY_CHARS = 240
_DOCSTRING_START = re.compile(r"^[rRuUbBfF]{0,2}(\"\"\"|'''|\"|')")
_LINE_COMMENT = re.compile(r"^(///?|#!?|--|;+)\s?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class DefinitionHead:
    """A definition, what it does (first sentence of its documentation) and the lines that say so."""

    definition: Definition
    summary: str  # "" when the definition has no docstring or leading comment
    signature: str  # the definition's first line, stripped
    first_line: int  # the cited lines: documentation above, the signature, the docstring below
    last_line: int


def source_lines(doc: StoredDocument) -> dict[int, str]:
    """Source line number -> its text, from the document's span map."""
    lines: dict[int, str] = {}
    for start, end, line, _ in doc.span_index:
        if line:
            lines[int(line)] = doc.text[int(start):int(end)]
    return lines


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    sentence = text[:match.start()] if match else text
    if len(sentence) > MAX_SUMMARY_CHARS:
        sentence = sentence[:MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "\u2026"
    return sentence


def describe(doc: StoredDocument, definitions: list[Definition]) -> list[DefinitionHead]:
    lines = source_lines(doc)
    python = doc.language == "python"
    heads = []
    for definition in definitions:
        signature_line = definition.start_line
        while (python and signature_line < definition.end_line
               and _is_decorator(lines.get(signature_line, ""))):
            signature_line += 1  # tree-sitter starts a decorated definition at its first decorator
        summary, first, last = "", definition.start_line, signature_line
        if python:
            summary, last = _python_docstring(lines, definition)
        if not summary:
            summary, first = _comment_above(lines, definition.start_line, python)
            last = signature_line
        signature = lines.get(signature_line, "").strip()
        heads.append(DefinitionHead(definition, summary, signature, min(first, definition.start_line), last))
    return heads


def _is_decorator(line: str) -> bool:
    return line.lstrip().startswith("@")


def _python_docstring(lines: dict[int, str], definition: Definition) -> tuple[str, int]:
    """(first sentence of the docstring, its last line) or ("", start line)."""
    number = definition.start_line
    while number <= definition.end_line and not lines.get(number, "").split("#")[0].rstrip().endswith(":"):
        number += 1  # a signature over several lines, or decorators before it
    number += 1
    while number <= definition.end_line and not lines.get(number, "").strip():
        number += 1
    opening = lines.get(number, "").strip()
    match = _DOCSTRING_START.match(opening)
    if number > definition.end_line or match is None:
        return "", definition.start_line
    quote = match.group(1)
    body = opening[match.end():]
    collected, end = [], number
    while True:
        if quote in body:
            collected.append(body[:body.index(quote)])
            break
        collected.append(body)
        end += 1
        if end > definition.end_line or end not in lines:
            return "", definition.start_line  # never closed: not a docstring this module can read
        body = lines[end].strip()
    return first_sentence(" ".join(collected)), end


def _comment_above(lines: dict[int, str], start_line: int, python: bool) -> tuple[str, int]:
    """(first sentence of the comment block right above the definition, its first line) or ("", start)."""
    number = start_line - 1
    while python and _is_decorator(lines.get(number, "")):
        number -= 1  # decorators sit between a Python comment and its def
    collected: list[str] = []
    if lines.get(number, "").strip().endswith("*/"):  # a block comment: that block alone
        while number >= 1 and number in lines:
            text = lines[number].strip()
            collected.append(text.removeprefix("/**").removeprefix("/*").removesuffix("*/").lstrip("* "))
            if text.startswith("/*"):
                break
            number -= 1
        else:
            return "", start_line  # never opened: not a comment this module can read
        number -= 1
    line_comments = not collected
    while line_comments and number >= 1 and number in lines:  # else a run of line comments
        text = lines[number].strip()
        match = _LINE_COMMENT.match(text)
        if match is None or text.startswith("#!"):
            break
        collected.append(text[match.end():])
        number -= 1
    if not collected:
        return "", start_line
    return first_sentence(" ".join(reversed(collected))), number + 1
