"""Definitions in source code, found with tree-sitter queries (resources/queries/<language>.scm).

A query file marks what a definition is; this module turns the matches into `Definition`
records with qualified names. The captures a pattern may use:

- `@definition.<kind>`: the node a definition spans (`function`, `class`, `struct`, ...);
- `@scope.<kind>`: a container that qualifies the definitions inside it without being one
  itself (a Rust `impl`, a Swift `extension`, a C# `namespace X;`); without `@name` it adds
  nothing to the names inside (Ruby's `class << self`, Kotlin's `companion object`);
- `@name`: the definition's name; a qualified name node (C++ `Matrix<T>::at`, Ruby
  `Billing::Line`) gives its leading parts as qualifiers;
- `@receiver`: a type that qualifies this one definition (Go's `func (q *Queue) Push`,
  Kotlin's `fun Track.describe()`);
- `@wrapper` with `@attached`: lines of the wrapper belong to the definition that starts
  where `@attached` starts — Python decorators, `export`, C++ `template <...>`, or a Rust
  `#[derive]` just before an item (chains of them are followed).

Patterns may carry settings: `(#set! separator "#")` joins this definition to its container
with "#" instead of the language's separator; `(#set! child-separator ".")` does the same for
everything directly inside a scope; `(#set! name "init")` names a definition that has no
name node; `(#set! extent "file")` makes a scope last to the next such scope or the end of
the file (statement-form namespaces). Where one node matches several patterns, the first
pattern in the file wins.

Qualification walks each definition's enclosing definitions and scopes: items are sorted
by position, and a stack of the open containers gives every item its chain of ancestors in
one pass, without recursion. Nothing here asks tree-sitter for a node's parent or sibling:
that costs time in proportion to the number of siblings, and a minified file has one line
with hundreds of thousands of them. Lines are 1-based and inclusive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import tree_sitter

from ingest.languages import CODE_LANGUAGES, CodeLanguage, parser_for
from ingest.records import Definition

QUERY_DIR = Path(__file__).resolve().parent.parent / "resources" / "queries"

# A "function" directly inside one of these is a method.
CLASS_KINDS = frozenset({
    "class", "struct", "interface", "trait", "enum", "object", "record", "union",
    "impl", "extension", "singleton",  # scopes: Rust impl, Swift extension, Ruby `class << self`
})
NAMESPACE_KINDS = frozenset({"namespace", "module"})
# Name nodes made of a qualifier and a name: C++ qualified_identifier, Ruby scope_resolution,
# C# qualified_name, TypeScript `namespace A.B.C` (nested_identifier over member_expression).
_QUALIFIED_NAME_FIELDS = {
    "qualified_identifier": ("scope", "name"),
    "scope_resolution": ("scope", "name"),
    "qualified_name": ("qualifier", "name"),
    "nested_identifier": ("object", "property"),
    "member_expression": ("object", "property"),
}
_TYPE_ARGUMENTS = re.compile(r"<[^<>]*>")


@dataclass(frozen=True)
class CodeOutline:
    """What tree-sitter found in one source file."""

    definitions: list[Definition]
    error_line: int | None  # first line with a syntax error; None if clean, or C/C++ (see `preprocessed`)


@dataclass
class _Item:
    """A definition or a scope, while qualified names are being built."""

    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    kind: str
    parts: list[str]  # qualifiers from the name node and the receiver, then the name; [] for a bare scope
    is_scope: bool
    separator: str | None
    child_separator: str | None
    qualified_by_name: bool  # the name node itself carried qualifiers (C++ `Matrix<T>::at`)
    to_end_of_file: bool  # a statement-form namespace: it holds what follows it
    qualified: str = ""


@dataclass(frozen=True)
class _Pattern:
    """What one query pattern says, read once from its captures and `#set!` settings."""

    role: str  # the capture naming the node: "definition.<kind>", "scope.<kind>" or "wrapper"
    kind: str
    is_scope: bool
    fixed_name: str | None
    separator: str | None
    child_separator: str | None
    to_end_of_file: bool


@dataclass(frozen=True)
class _Query:
    query: tree_sitter.Query
    settings: tuple[dict[str, str | None], ...]  # per pattern index
    patterns: dict[int, _Pattern | None] = field(default_factory=dict)  # filled as patterns first match

    def pattern(self, index: int, capture_names: Iterable[str]) -> _Pattern | None:
        if index not in self.patterns:
            self.patterns[index] = _read_pattern(capture_names, self.settings[index])
        return self.patterns[index]


def _read_pattern(capture_names: Iterable[str], settings: dict[str, str | None]) -> _Pattern | None:
    roles = ("definition.", "scope.", "wrapper")
    role = next((name for name in capture_names if name.startswith(roles)), None)
    if role is None:
        return None
    fixed_name = settings.get("name")
    return _Pattern(
        role=role,
        kind=role.partition(".")[2],
        is_scope=role.startswith("scope."),
        fixed_name=str(fixed_name) if fixed_name else None,
        separator=settings.get("separator"),
        child_separator=settings.get("child-separator"),
        to_end_of_file=settings.get("extent") == "file",
    )


def extract_definitions(source: bytes, language: str, relpath: str) -> CodeOutline:
    """Every definition tree-sitter finds in `source` (UTF-8, "\\n" line ends), in source order."""
    spec = CODE_LANGUAGES[language]
    tree = parser_for(language).parse(source)
    root = tree.root_node
    compiled = _load_query(spec.query, language)
    items = _collect(compiled, root, len(source))
    module = python_module(relpath) if language == "python" else ""
    definitions = _qualify(items, spec, module)
    reported = root.has_error and not spec.preprocessed
    return CodeOutline(definitions, _first_error_line(root) if reported else None)


def python_module(relpath: str) -> str:
    """The dotted module path of a Python file: `pkg/mod.py` -> `pkg.mod`, `pkg/__init__.py` -> `pkg`.

    A leading `src/` (the src layout) is not part of the import path, so it is dropped.
    """
    parts = list(PurePosixPath(relpath).with_suffix("").parts)
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _load_query(query_name: str, language: str) -> _Query:
    text = (QUERY_DIR / f"{query_name}.scm").read_text(encoding="utf-8")
    query = tree_sitter.Query(CODE_LANGUAGES[language].load(), text)
    settings = tuple(query.pattern_settings(i) for i in range(query.pattern_count))
    return _Query(query, settings)


def _collect(compiled: _Query, root: tree_sitter.Node, source_len: int) -> list[_Item]:
    """One item per matched node (the first pattern wins), sorted outermost-first by position."""
    by_node: dict[tuple[int, int], tuple[int, _Item]] = {}
    wrapped_by: dict[int, tuple[int, int]] = {}  # start byte of a wrapped node -> its wrapper's (byte, line)
    for pattern_index, captures in tree_sitter.QueryCursor(compiled.query).matches(root):
        pattern = compiled.pattern(pattern_index, captures)
        if pattern is None:
            continue
        if pattern.role == "wrapper":
            wrapper, attached = captures["wrapper"][0], captures["attached"][0]
            wrapped_by[attached.start_byte] = (wrapper.start_byte, wrapper.start_point.row + 1)
            continue
        item = _item_from_match(captures, pattern)
        if item is None:
            continue
        key = (item.start_byte, item.end_byte)
        if key not in by_node or pattern_index < by_node[key][0]:
            by_node[key] = (pattern_index, item)
    items = [item for _, item in by_node.values()]
    for item in items:
        while item.start_byte in wrapped_by:
            item.start_byte, item.start_line = wrapped_by[item.start_byte]
    # A statement-form namespace (`namespace App;`) holds everything up to the next one.
    file_scopes = sorted((item for item in items if item.to_end_of_file), key=lambda item: item.start_byte)
    for index, scope in enumerate(file_scopes):
        scope.end_byte = file_scopes[index + 1].start_byte if index + 1 < len(file_scopes) else source_len
    items.sort(key=lambda item: (item.start_byte, -item.end_byte))
    return items


def _item_from_match(captures: dict[str, list[tree_sitter.Node]], pattern: _Pattern) -> _Item | None:
    node = captures[pattern.role][0]
    if "name" in captures:
        parts = _name_parts(captures["name"][0])
    elif pattern.fixed_name:
        parts = [pattern.fixed_name]
    elif pattern.is_scope:
        parts = []
    else:
        name_node = _declarator_name(node)
        if name_node is None:
            return None
        parts = _name_parts(name_node)
    if not pattern.is_scope and (not parts or not parts[-1]):
        return None  # a name tree-sitter had to invent while recovering from a syntax error
    qualified_by_name = len(parts) > 1
    if "receiver" in captures:
        parts = [_strip_type_arguments(_text(captures["receiver"][0])), *parts]
    start_row, end_point = node.start_point.row, node.end_point
    return _Item(
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        start_line=start_row + 1,
        # Some nodes (C's #define) end after their newline, at column 0 of the next line.
        end_line=end_point.row if end_point.column == 0 and end_point.row > start_row else end_point.row + 1,
        kind=pattern.kind,
        parts=parts,
        is_scope=pattern.is_scope,
        separator=pattern.separator,
        child_separator=pattern.child_separator,
        qualified_by_name=qualified_by_name,
        to_end_of_file=pattern.to_end_of_file,
    )


def _declarator_name(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The name inside a C/C++ declarator chain (`int *(*f)(void)`), or None if it declares no function."""
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        if declarator.type == "reference_declarator":  # `A& operator=()`: its inner declarator has no field
            declarator = declarator.named_children[-1] if declarator.named_child_count else None
        else:
            declarator = declarator.child_by_field_name("declarator")
    if declarator is None:
        return None
    name = declarator.child_by_field_name("declarator")
    if name is None or name.type in ("parenthesized_declarator", "pointer_declarator"):
        return None  # a function pointer, not a function
    return name


def _name_parts(node: tree_sitter.Node) -> list[str]:
    """A name node as [qualifier, ..., name]: `linalg::Matrix<T>::at` -> ["linalg", "Matrix", "at"]."""
    if node.type not in _QUALIFIED_NAME_FIELDS and node.type not in ("namespace_name", "template_type"):
        return [_text(node)]
    parts: list[str] = []
    pending = [node]  # expanded left to right with an explicit stack: names can nest without bound
    while pending:
        node = pending.pop()
        fields = _QUALIFIED_NAME_FIELDS.get(node.type)
        name = node.child_by_field_name(fields[1]) if fields else None
        if fields and name is not None:
            pending.append(name)
            scope = node.child_by_field_name(fields[0])
            if scope is not None:
                pending.append(scope)
        elif node.type == "namespace_name":  # PHP: App\Repository
            parts.extend(_text(child) for child in node.named_children)
        else:
            parts.append(_scope_text(node))
    return [part for part in parts if part]


def _scope_text(node: tree_sitter.Node) -> str:
    if node.type == "template_type":  # Matrix<T> -> Matrix
        name = node.child_by_field_name("name")
        return _text(name) if name is not None else _strip_type_arguments(_text(node))
    return _text(node)


def _text(node: tree_sitter.Node) -> str:
    text = " ".join((node.text or b"").decode("utf-8", errors="replace").split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1]
    return text


def _strip_type_arguments(text: str) -> str:
    """`Queue[T]`, `Vec<T>`, `*Job`, `String?` -> the bare type name."""
    previous = None
    while previous != text:
        previous, text = text, _TYPE_ARGUMENTS.sub("", text)
    return text.split("[", 1)[0].strip().lstrip("*&").rstrip("?!").strip()


def _qualify(items: list[_Item], spec: CodeLanguage, module: str) -> list[Definition]:
    stack: list[_Item] = []
    for item in items:
        while stack and stack[-1].end_byte <= item.start_byte:
            stack.pop()
        parent = stack[-1] if stack else None
        if item.kind == "function" and parent is not None and parent.kind in CLASS_KINDS:
            item.kind = "method"
        item.qualified = _qualified_name(item, parent, spec, module)
        stack.append(item)
    namespaces = {item.qualified for item in items if item.kind in NAMESPACE_KINDS}
    definitions = []
    for item in items:
        if item.is_scope:
            continue
        kind = item.kind
        if kind == "function" and item.qualified_by_name and spec.separator in item.qualified:
            # `void Matrix::at()` defines a method unless its qualifier is a namespace of this file.
            owner = item.qualified.rsplit(spec.separator, 1)[0]
            kind = "function" if owner in namespaces else "method"
        definitions.append(Definition(item.parts[-1], kind, item.qualified, item.start_line, item.end_line))
    return definitions


def _qualified_name(item: _Item, parent: _Item | None, spec: CodeLanguage, module: str) -> str:
    own = spec.separator.join(item.parts)
    if not spec.qualify:
        return own
    prefix = parent.qualified if parent is not None else module
    if not own:
        return prefix
    if not prefix:
        return own
    separator = (parent.child_separator if parent is not None else None) or item.separator or spec.separator
    return f"{prefix}{separator}{own}"


def _first_error_line(root: tree_sitter.Node) -> int:
    """The line of the first ERROR or MISSING node, descending only into subtrees that hold one."""
    node = root
    while True:
        if node.is_error or node.is_missing:
            return node.start_point.row + 1
        child = next((c for c in node.children if c.has_error or c.is_missing), None)
        if child is None:
            return node.start_point.row + 1
        node = child
