"""Choosing how to read a file (code, text, PDF), and files no one wrote by hand."""

from __future__ import annotations

import gc
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest.parse import LANGUAGES, is_pdf, parse_file
from ingest.records import ParseError

CODE_EXTENSIONS = {
    "python": [".py", ".pyi"],
    "javascript": [".js", ".mjs", ".cjs", ".jsx"],
    "typescript": [".ts", ".mts", ".cts"],
    "tsx": [".tsx"],
    "go": [".go"],
    "rust": [".rs"],
    "java": [".java"],
    "c": [".c", ".h"],
    "cpp": [".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"],
    "csharp": [".cs"],
    "ruby": [".rb"],
    "php": [".php"],
    "kotlin": [".kt", ".kts"],
    "swift": [".swift"],
    "bash": [".sh", ".bash"],
}


@pytest.mark.parametrize(
    ("language", "extension"),
    [(language, extension) for language, extensions in CODE_EXTENSIONS.items() for extension in extensions],
)
def test_code_is_chosen_by_extension(language: str, extension: str) -> None:
    assert LANGUAGES[extension] == language
    document = parse_file(b"x\n", f"src/Thing{extension}")
    assert (document.kind, document.language) == ("code", language)
    document = parse_file(b"x\n", f"src/THING{extension.upper()}")  # extensions are case-insensitive
    assert document.language == language


@pytest.mark.parametrize(
    ("relpath", "language"),
    [
        ("README.md", "markdown"),
        ("docs/index.rst", "rst"),
        ("package.json", "json"),
        ("ci.yaml", "yaml"),
        ("pyproject.toml", "toml"),
        ("setup.cfg", "ini"),
        ("notes.txt", None),
        ("LICENSE", None),
        ("data.unknownext", None),
    ],
)
def test_other_text_is_a_text_document(relpath: str, language: str | None) -> None:
    document = parse_file(b"some words\n", relpath)
    assert (document.kind, document.language, document.definitions) == ("text", language, [])


@pytest.mark.parametrize(
    ("first_line", "language"),
    [
        ("#!/usr/bin/env python3", "python"),
        ("#!/usr/bin/python3.11 -u", "python"),
        ("#!/usr/bin/env -S python3 -X dev", "python"),
        ("#!/bin/bash", "bash"),
        ("#!/bin/sh -e", "bash"),
        ("#!/usr/bin/env bash", "bash"),
        ("#!/usr/bin/env node", "javascript"),
        ("#!/usr/bin/env ruby", "ruby"),
        ("#!/usr/bin/env perl", None),
    ],
)
def test_extensionless_scripts_are_chosen_by_their_shebang(first_line: str, language: str | None) -> None:
    document = parse_file(f"{first_line}\necho hi\n".encode(), "bin/tool")
    assert document.language == language
    assert document.kind == ("text" if language is None else "code")


def test_a_python_script_without_extension_gets_its_definitions() -> None:
    source = b"#!/usr/bin/env python3\nimport sys\n\n\ndef main():\n    return 0\n"
    document = parse_file(source, "bin/release")
    assert [(d.qualified_name, d.start_line, d.end_line) for d in document.definitions] == [
        ("bin.release.main", 5, 6)
    ]


def test_well_known_file_names_are_code() -> None:
    assert parse_file(b"task :default do\nend\n", "Rakefile").language == "ruby"
    assert parse_file(b"export PATH=$HOME/bin:$PATH\n", "home/.bashrc").language == "bash"


def test_binary_content_under_a_code_name_is_skipped() -> None:
    with pytest.raises(ParseError) as raised:
        parse_file(b"\x7fELF\x02\x01\x01\x00\x00\x00", "tool.py")
    assert raised.value.status == "skipped"
    assert raised.value.reason.startswith("binary content")


def test_an_empty_source_file_is_skipped() -> None:
    with pytest.raises(ParseError) as raised:
        parse_file(b"", "pkg/__init__.py")
    assert (raised.value.reason, raised.value.status) == ("empty file", "skipped")


def test_code_spans_map_back_to_source_lines() -> None:
    source = "def f():\r\n    return '\u00e9t\u00e9'\r\n"
    document = parse_file(source.encode(), "summer.py")
    assert document.text == "summer.py\ndef f():\n    return '\u00e9t\u00e9'\n"
    assert [(s.line, document.text[s.start : s.end]) for s in document.spans] == [
        (1, "def f():"),
        (2, "    return '\u00e9t\u00e9'"),
    ]
    assert [(d.name, d.start_line, d.end_line) for d in document.definitions] == [("f", 1, 2)]


def test_definitions_after_non_ascii_text_keep_their_lines() -> None:
    source = "# \u00fcber \u65e5\u672c\u8a9e \U0001f600\nclass \u00c4rger:\n    pass\n"
    definitions = parse_file(source.encode(), "pkg/mod.py").definitions
    assert [(d.name, d.qualified_name, d.start_line) for d in definitions] == [
        ("\u00c4rger", "pkg.mod.\u00c4rger", 2)
    ]


def test_a_minified_bundle_with_one_5mb_line_parses_in_seconds() -> None:
    statement = "var a{0}=function(b,c){{return b+c*{0}}},o{0}={{k:'v{0}',f:function(x){{return x&&x.y}}}};"
    body = "".join(statement.format(i) for i in range(60_000))
    data = ("!function(){" + body + "}();").encode()
    assert len(data) > 5_000_000 and data.count(b"\n") == 0
    started = time.process_time()
    document = parse_file(data, "dist/app.min.js")
    elapsed = time.process_time() - started
    assert elapsed < 20, f"{elapsed:.1f} s of CPU for a 5 MB line"
    assert len(document.spans) == 1
    assert document.text[document.spans[0].start : document.spans[0].end] == data.decode()
    assert len(document.definitions) == 120_000  # a0..a59999 and each object's f
    assert {d.start_line for d in document.definitions} == {1}


@pytest.mark.parametrize(
    ("relpath", "data", "expected"),
    [
        ("papers/attention.pdf", b"%PDF-1.7\n...", True),
        ("papers/ATTENTION.PDF", b"garbage", True),  # a damaged PDF is still the PDF parser's to judge
        ("download", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", True),
        ("pdf_tools.py", b"MAGIC = b'%PDF-'\n", False),
        ("notes.txt", b"see %PDF- in the spec\n", False),
    ],
)
def test_pdfs_are_recognised_by_extension_or_signature(relpath: str, data: bytes, expected: bool) -> None:
    assert is_pdf(relpath, data) is expected


def test_parsing_from_many_threads_gives_the_same_documents() -> None:
    fixtures = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "code").iterdir())
    jobs = [(path.read_bytes(), f"src/{path.name}") for path in fixtures] * 4
    sequential = [parse_file(data, relpath) for data, relpath in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda job: parse_file(*job), jobs))
    assert threaded == sequential
    assert gc.isenabled()  # the collector is paused only while a file is parsed
