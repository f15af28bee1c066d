"""Scope comments: each class member's definition line names its owner, as the app's documents do.

A chunk holds 64 tokens; the class a method belongs to is often thousands of tokens above it, beyond what
the window layers carry into the chunk's landmark, so "the method post of BaseRequest" could not tell
BaseRequest's `post` from its namesakes in other classes (docs/lab-notes.md, session 14). Code-search tools
prepend a scope to their chunks for the same reason; here the definition line of every function or class
defined directly in a class gets a trailing comment with its qualified name (the enclosing definitions'
names, then its own):

    async def post(self) -> "MultiDictProxy[_Post]":  # BaseRequest.post

Only a comment is added at a line's end, so lines keep their numbers (citations map chunks to lines as before)
and the code means what it did. ingest/parse.py writes the same comments into the documents the app encodes
(from tree-sitter's definitions; tests/test_scope_comments.py holds the two to the same text).
"""

from __future__ import annotations

import ast
import warnings

MARK = "  # "  # between the line and the qualified name


def scope_comment(line: str, qualified: str) -> str | None:
    """`line` with its scope comment, or None where a comment cannot go at its end (a backslash continuation,
    an unclosed triple-quoted string)."""
    if line.endswith("\\") or (line.count('"""') + line.count("'''")) % 2:
        return None
    return f"{line}{MARK}{qualified}"


def without_scope_comment(line: str, qualified: str) -> str:
    """The line as the file has it (a definition line that `scope_comments` annotated, or any other line)."""
    suffix = f"{MARK}{qualified}"
    return line[: -len(suffix)] if line.endswith(suffix) else line


def member_lines(source: str) -> dict[int, str]:
    """{1-based definition line: qualified name} of every function and class defined directly in a class;
    {} when the source does not parse."""
    return {line: name for line, (name, in_class) in _definitions(source).items() if in_class}


def definition_lines(source: str) -> dict[int, str]:
    """{1-based definition line: qualified name} of every function and class (nested in statements, classes
    and functions alike); {} when the source does not parse."""
    return {line: name for line, (name, _) in _definitions(source).items()}


def _definitions(source: str) -> dict[int, tuple[str, bool]]:
    """{definition line: (qualified name, whether it is defined directly in a class)}."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in old code
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[int, tuple[str, bool]] = {}
    # (qualified prefix, node, whether the nearest enclosing definition is a class); statements only: a
    # definition is a statement, nested in other statements (if, try, with) or in a definition's body
    stack: list[tuple[str, ast.AST, bool]] = [("", tree, False)]
    while stack:
        prefix, parent, in_class = stack.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                found[node.lineno] = (name, in_class)
                stack.append((f"{name}.", node, isinstance(node, ast.ClassDef)))
            elif isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
                stack.append((prefix, node, in_class))
    return found


def scope_comments(source: str) -> str:
    """Python source with the scope comment on each class member's definition line (unchanged if it does not
    parse)."""
    members = member_lines(source)
    if not members:
        return source
    lines = source.split("\n")
    for number, qualified in members.items():
        annotated = scope_comment(lines[number - 1], qualified)
        if annotated is not None:
            lines[number - 1] = annotated
    return "\n".join(lines)
