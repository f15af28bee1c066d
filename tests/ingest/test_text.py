"""Text documents: decoding, line spans, and Markdown / reStructuredText headings."""

from __future__ import annotations

import codecs

import pytest

from ingest.parse import parse_file
from ingest.records import Heading, ParseError


def source_lines(document_text: str, relpath: str) -> list[str]:
    """The file's lines as an editor shows them, from the document text after its header line."""
    header = f"{relpath}\n"
    assert document_text.startswith(header)
    body = document_text[len(header) :]
    return body.split("\n")[:-1] if body.endswith("\n") else body.split("\n")


def assert_spans_map_to_lines(data: bytes, relpath: str, expected_lines: list[str]) -> None:
    document = parse_file(data, relpath)
    assert [span.line for span in document.spans] == list(range(1, len(expected_lines) + 1))
    assert [document.text[span.start : span.end] for span in document.spans] == expected_lines
    starts = [span.start for span in document.spans]
    assert starts == sorted(starts)


def test_the_document_starts_with_a_header_line_naming_the_path() -> None:
    document = parse_file(b"hello\nworld\n", "notes/today.txt")
    assert document.text == "notes/today.txt\nhello\nworld\n"
    assert (document.kind, document.language, document.path) == ("text", None, "notes/today.txt")


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"one\ntwo\nthree\n", ["one", "two", "three"]),
        (b"one\ntwo\nthree", ["one", "two", "three"]),  # no final line end
        (b"one\r\ntwo\r\n\r\nfour\r\n", ["one", "two", "", "four"]),  # CRLF
        (b"one\rtwo\r", ["one", "two"]),  # classic Mac OS
        (b"mixed\r\nends\nhere\rnow", ["mixed", "ends", "here", "now"]),
        (b"\n\n", ["", ""]),
        (b"tab\tand form\x0cfeed\x0bstay on one line\n", ["tab\tand form\x0cfeed\x0bstay on one line"]),
        ("caf\u00e9 \u2028 na\u00efve\n".encode(), ["caf\u00e9 \u2028 na\u00efve"]),  # U+2028 is no line end
    ],
)
def test_every_span_maps_back_to_exactly_its_source_line(data: bytes, lines: list[str]) -> None:
    assert_spans_map_to_lines(data, "notes.txt", lines)


def test_crlf_lines_match_what_an_editor_shows() -> None:
    data = b"[server]\r\nhost = example.org\r\nport = 8080\r\n"
    document = parse_file(data, "config.ini")
    assert document.language == "ini"
    assert [(s.line, document.text[s.start : s.end]) for s in document.spans] == [
        (1, "[server]"),
        (2, "host = example.org"),
        (3, "port = 8080"),
    ]
    assert "\r" not in document.text


def test_a_utf8_byte_order_mark_is_dropped() -> None:
    document = parse_file(codecs.BOM_UTF8 + b"# Title\n\nBody\n", "README.md")
    assert document.text == "README.md\n# Title\n\nBody\n"
    assert document.headings == [Heading("Title", 1, line=1)]
    assert document.warnings == []


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_decoded(codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    data = bom + "Gr\u00fc\u00dfe\r\nzweite Zeile\r\n".encode(codec)
    assert_spans_map_to_lines(data, "greeting.txt", ["Gr\u00fc\u00dfe", "zweite Zeile"])
    assert parse_file(data, "greeting.txt").warnings == []


def test_invalid_utf8_is_replaced_and_the_first_bad_byte_is_named() -> None:
    data = b"name: caf\xe9\nother: ok\nlast: \xff\n"
    document = parse_file(data, "data.yaml")
    assert document.warnings == [
        "not valid UTF-8 (first bad byte at offset 9); undecodable bytes are shown as U+FFFD"
    ]
    assert source_lines(document.text, "data.yaml") == ["name: caf\ufffd", "other: ok", "last: \ufffd"]
    assert len(document.spans) == 3


def test_invalid_utf8_offsets_count_the_byte_order_mark() -> None:
    document = parse_file(codecs.BOM_UTF8 + b"ab\x80\n", "x.txt")
    assert document.warnings[0].startswith("not valid UTF-8 (first bad byte at offset 5)")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (codecs.BOM_UTF8, "empty file"),
        (b"text\x00with a NUL\n", "binary content (NUL byte at offset 4)"),
        (bytes(range(128, 256)) * 8, "binary content (mostly not valid text)"),
    ],
)
def test_files_that_are_not_text_are_skipped_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_file(data, "thing.txt")
    assert (raised.value.reason, raised.value.status) == (reason, "skipped")


MARKDOWN = b"""---
title: Front matter is not a heading
---

# Folio

Intro paragraph.

Setext title
============

## Install ##

```bash
# this is a shell comment, not a heading
pip install folio
```

~~~~
## still code
~~~
# still code: a shorter fence does not close
~~~~

    # indented code, not a heading

<!--
# commented out
-->

A paragraph that runs
over two lines
--------------

- a list item
---

#hashtag is not a heading
####### seven hashes is not a heading
### Usage ###

---
After a rule
============
"""


def test_markdown_headings() -> None:
    document = parse_file(MARKDOWN, "docs/README.md")
    assert document.language == "markdown"
    assert document.headings == [
        Heading("Folio", 1, line=5),
        Heading("Setext title", 1, line=9),
        Heading("Install", 2, line=12),
        Heading("A paragraph that runs over two lines", 2, line=31),
        Heading("Usage", 3, line=40),
        Heading("After a rule", 1, line=43),
    ]


def test_an_unclosed_fence_hides_the_rest_of_the_file() -> None:
    document = parse_file(b"# Top\n\n```\n# inside\n", "notes.md")
    assert document.headings == [Heading("Top", 1, line=1)]


RST = b"""=========
 Folio
=========

Introduction
============

Text.

Details
-------

Transitions are not titles:

----------

Sub-detail
~~~~~~~~~~

Second part
===========

.. code-block:: python

    Indented
    ========

Hi
==

No
--
"""


def test_rst_headings_take_levels_from_the_order_styles_first_appear() -> None:
    document = parse_file(RST, "docs/index.rst")
    assert document.language == "rst"
    assert document.headings == [
        Heading("Folio", 1, line=2),
        Heading("Introduction", 2, line=5),
        Heading("Details", 3, line=10),
        Heading("Sub-detail", 4, line=17),
        Heading("Second part", 2, line=20),
        Heading("Hi", 2, line=28),
        Heading("No", 3, line=31),
    ]


def test_rst_short_underlines_follow_docutils() -> None:
    # An underline shorter than its title counts only when it is at least 4 characters long.
    document = parse_file(b"A long title\n====\n\nAnother title\n===\n", "short.rst")
    assert document.headings == [Heading("A long title", 1, line=1)]


def test_rst_wide_characters_count_twice_for_the_underline() -> None:
    title = "\u65e5\u672c\u8a9e"  # three wide characters: 6 columns
    data = f"{title}\n======\n\n{title}\n===\n".encode()  # 3 underline characters: too short
    assert parse_file(data, "ja.rst").headings == [Heading(title, 1, line=1)]


@pytest.mark.parametrize("relpath", ["package.json", "config.toml", "data.csv", "site.yml"])
def test_structured_text_has_line_spans_and_no_headings(relpath: str) -> None:
    data = b"# looks like a heading\nkey = value\n"
    document = parse_file(data, relpath)
    assert document.kind == "text"
    assert document.headings == []
    lines = [document.text[span.start : span.end] for span in document.spans]
    assert lines == ["# looks like a heading", "key = value"]
