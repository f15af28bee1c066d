"""Which language a file is written in, and how Folio reads each one.

A file's language comes from its extension, then its exact name (`Rakefile`), then — for a
file whose extension says nothing — the interpreter named on a `#!` line. Code languages
are parsed with tree-sitter grammars shipped as wheels (nothing is downloaded at run
time); text formats only name the document's language.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

import tree_sitter


@dataclass(frozen=True)
class CodeLanguage:
    """How to parse one programming language and name its definitions."""

    name: str
    extensions: tuple[str, ...]
    grammar: tuple[str, str]  # (module, function) returning the tree-sitter language pointer
    separator: str = "."  # joins a definition's qualified name to its container's
    qualify: bool = True  # False where nesting does not scope a name (C struct tags, shell functions)
    # Macros and #ifdef'd braces make valid C and C++ look broken to tree-sitter, which sees the
    # source before the preprocessor does: a syntax error there says nothing a user could fix.
    preprocessed: bool = False
    query_name: str = ""  # resources/queries/<query_name>.scm; the language's name if empty

    @property
    def query(self) -> str:
        return self.query_name or self.name

    def load(self) -> tree_sitter.Language:
        return _grammar(*self.grammar)


_CPP_EXTENSIONS = (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp")
_TYPESCRIPT = "tree_sitter_typescript"  # one wheel, two grammars: TypeScript and TSX
_RUBY_EXTENSIONS = (".rb", ".rake", ".gemspec", ".ru")

CODE_LANGUAGES: dict[str, CodeLanguage] = {
    spec.name: spec
    for spec in (
        CodeLanguage("python", (".py", ".pyi", ".pyw"), ("tree_sitter_python", "language")),
        CodeLanguage("javascript", (".js", ".mjs", ".cjs", ".jsx"), ("tree_sitter_javascript", "language")),
        CodeLanguage("typescript", (".ts", ".mts", ".cts"), (_TYPESCRIPT, "language_typescript")),
        # TSX is TypeScript plus JSX: the same node types, so it shares typescript.scm.
        CodeLanguage("tsx", (".tsx",), (_TYPESCRIPT, "language_tsx"), query_name="typescript"),
        CodeLanguage("go", (".go",), ("tree_sitter_go", "language")),
        CodeLanguage("rust", (".rs",), ("tree_sitter_rust", "language"), separator="::"),
        CodeLanguage("java", (".java",), ("tree_sitter_java", "language")),
        # .h is C by name; detect_language reads C++ headers named .h as C++.
        CodeLanguage("c", (".c", ".h"), ("tree_sitter_c", "language"), qualify=False, preprocessed=True),
        CodeLanguage(
            "cpp", _CPP_EXTENSIONS, ("tree_sitter_cpp", "language"), separator="::", preprocessed=True
        ),
        CodeLanguage("csharp", (".cs",), ("tree_sitter_c_sharp", "language")),
        CodeLanguage("ruby", _RUBY_EXTENSIONS, ("tree_sitter_ruby", "language"), separator="::"),
        CodeLanguage("php", (".php", ".phtml"), ("tree_sitter_php", "language_php"), separator="\\"),
        CodeLanguage("kotlin", (".kt", ".kts"), ("tree_sitter_kotlin", "language")),
        CodeLanguage("swift", (".swift",), ("tree_sitter_swift", "language")),
        CodeLanguage("bash", (".sh", ".bash"), ("tree_sitter_bash", "language"), qualify=False),
    )
}

# Text formats Folio names; any other text file is still read, as plain text (language None).
TEXT_LANGUAGES: dict[str, str] = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown", ".mdx": "markdown",
    ".rst": "rst", ".rest": "rst",
    ".json": "json", ".jsonc": "json", ".json5": "json", ".ipynb": "json",
    ".yaml": "yaml", ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini", ".cfg": "ini", ".conf": "ini",
    ".csv": "csv", ".tsv": "csv",
    ".xml": "xml", ".html": "html", ".htm": "html",
}

CODE_EXTENSIONS: dict[str, str] = {
    extension: spec.name for spec in CODE_LANGUAGES.values() for extension in spec.extensions
}

# Extension (lower case, with the dot) -> language name, for code and named text formats.
LANGUAGES: dict[str, str] = {**TEXT_LANGUAGES, **CODE_EXTENSIONS}

FILENAMES: dict[str, str] = {
    "Rakefile": "ruby", "Gemfile": "ruby", "Guardfile": "ruby", "Vagrantfile": "ruby", "Podfile": "ruby",
    ".bashrc": "bash", ".bash_profile": "bash", ".bash_logout": "bash", ".profile": "bash",
    "PKGBUILD": "bash", "APKBUILD": "bash",
}

_INTERPRETERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(python|pypy)[\d.]*"), "python"),
    (re.compile(r"(ba|da|k|a)?sh"), "bash"),
    (re.compile(r"node(js)?"), "javascript"),
    (re.compile(r"ruby[\d.]*"), "ruby"),
    (re.compile(r"php[\d.]*"), "php"),
)


# Constructs that C does not have, at the start of a line: a `.h` file holding one is a C++ header.
_CPP_HEADER = re.compile(
    r"^[ \t]*(?:namespace(?:[ \t]+\w+)?[ \t]*\{|template[ \t]*<|class[ \t]+\w+[^;(]*$"
    r"|(?:public|protected|private)[ \t]*:)",
    re.MULTILINE,
)


def detect_language(relpath: str, text: str) -> str | None:
    """The language of a file by its extension, its name, or (no extension known) a `#!` first line.

    A `.h` file is C unless it holds C++-only syntax (a namespace, template, class or access
    specifier): the C grammar finds under a third of the definitions of a C++ header.
    """
    path = PurePosixPath(relpath)
    by_extension = LANGUAGES.get(path.suffix.lower())
    if by_extension == "c" and path.suffix.lower() == ".h" and _CPP_HEADER.search(text):
        return "cpp"
    if by_extension:
        return by_extension
    if path.name in FILENAMES:
        return FILENAMES[path.name]
    return shebang_language(text)


def shebang_language(text: str) -> str | None:
    """The code language of the interpreter on a `#!` first line (`#!/usr/bin/env -S python3 -u`)."""
    if not text.startswith("#!"):
        return None
    words = text[2 : text.find("\n") if "\n" in text else len(text)].split()
    if words and PurePosixPath(words[0]).name == "env":
        # env takes options (-S, -i, -u NAME) and NAME=value pairs before the interpreter.
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    interpreter = PurePosixPath(words[0]).name
    for pattern, language in _INTERPRETERS:
        if pattern.fullmatch(interpreter):
            return language
    return None


@cache
def _grammar(module: str, function: str) -> tree_sitter.Language:
    return tree_sitter.Language(getattr(importlib.import_module(module), function)())


_parsers = threading.local()  # a tree_sitter.Parser is not safe to share between threads


def parser_for(language: str) -> tree_sitter.Parser:
    """This thread's parser for a code language."""
    cached: dict[str, tree_sitter.Parser] | None = getattr(_parsers, "by_language", None)
    if cached is None:
        cached = _parsers.by_language = {}
    parser = cached.get(language)
    if parser is None:
        parser = cached[language] = tree_sitter.Parser(CODE_LANGUAGES[language].load())
    return parser
