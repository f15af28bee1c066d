"""Question/answer pairs from real Python code (the standard `ast` module, no ingest).

Kinds: "where" is X defined (answer: its signature line — first docstring sentence; the place is the
answer's citation, path and lines: a chunk's text does not say which file or line it is; with owner_first, a
method's answer starts with its qualified name, as its definition line's scope comment has it), "what" does X
do (answer: docstring summary), "which" function does what a summary says (answer: its name, RepoQA-style),
"value" of a module constant (answer: its literal as written). Only documented functions and classes count.
"""

from __future__ import annotations

import ast
import random
import re
import warnings
from dataclasses import dataclass

from model.data.scopes import without_scope_comment

MAX_SUMMARY_CHARS = 160
MAX_LITERAL_CHARS = 60
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    kind: str  # "where" | "what" | "which" | "value" (code); "passage" (prose.py)
    name: str = ""  # the definition or constant asked about
    start_line: int = 0  # 1-based lines of that definition in the source
    end_line: int = 0


def _summary(docstring: str) -> str:
    """The first paragraph on one line, cut to a sentence boundary when long."""
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    if len(paragraph) > MAX_SUMMARY_CHARS:
        cut = _SENTENCE_END.split(paragraph[:MAX_SUMMARY_CHARS])[0]
        paragraph = cut if len(cut) > 20 else paragraph[:MAX_SUMMARY_CHARS].rsplit(" ", 1)[0]
    return paragraph


def _first_sentence(summary: str) -> str:
    return _SENTENCE_END.split(summary, maxsplit=1)[0]


def _definitions(tree: ast.Module):
    """(qualified name, node) for documented functions and classes, methods included."""
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, parent = stack.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                if not node.name.startswith("__") and ast.get_docstring(node):
                    yield name, node
                if isinstance(node, ast.ClassDef):
                    stack.append((f"{name}.", node))


def _constants(tree: ast.Module, source: str):
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or not _CONSTANT.match(target.id):
            continue
        literal = ast.get_source_segment(source, value)
        if literal is None or len(literal) > MAX_LITERAL_CHARS or "\n" in literal:
            continue
        try:
            ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        yield target.id, literal, node


def code_questions(source: str, path: str, rng: random.Random, owner_first: bool = False) -> list[QA]:
    """Every question the file supports, in source order; phrasing varies with `rng`. [] if it won't parse.
    owner_first: "where" answers of methods begin "Owner.name: " (the same draws from `rng` either way)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in old code
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines = source.split("\n")
    found: list[QA] = []
    summaries: dict[str, int] = {}
    documented = sorted(_definitions(tree), key=lambda item: item[1].lineno)
    for _, node in documented:
        key = _summary(ast.get_docstring(node) or "")
        summaries[key] = summaries.get(key, 0) + 1
    for name, node in documented:
        summary = _summary(ast.get_docstring(node) or "")
        if not summary:
            continue
        what = "class" if isinstance(node, ast.ClassDef) else "function"
        start, end = node.lineno, node.end_lineno or node.lineno
        signature = without_scope_comment(lines[start - 1], name).strip()
        # most phrasings name it as its definition line does (" name" after a space: the same tokens as in
        # "def name("), some as a reader might type it (`name`, Owner.name: other tokens, to be learnt too)
        owner, _, leaf = name.rpartition(".")
        subject = f"the method {leaf} of {owner}" if owner else f"the {what} {leaf}"
        where_q = rng.choice([f"Where is {subject} defined?"] * 2 + [f"Where is `{name}` defined?",
                                                                     f"In which file is {name} defined?"])
        where_a = f"{signature} — {_first_sentence(summary)}"
        if owner_first and owner:  # the answer's first tokens name the owner, copied from the scope comment
            where_a = f"{name}: {where_a}"
        found.append(QA(where_q, where_a, "where", name, start, end))
        what_q = rng.choice([f"What does {subject} do?", f"What is {subject} for?",
                             f"Describe what {subject} does.", f"What does `{name}` do?"])
        found.append(QA(what_q, summary, "what", name, start, end))
        if summaries[summary] == 1 and name.rsplit(".", 1)[-1].lower() not in summary.lower():
            which_q = rng.choice([f"Which {what} does this: {summary}",
                                  f"Find the {what} described as: {summary}"])
            found.append(QA(which_q, name, "which", name, start, end))
    for name, literal, node in _constants(tree, source):
        value_q = rng.choice([f"What is `{name}` set to?", f"What is {name} set to?",
                              f"What value does {name} have in {path}?"])
        found.append(QA(value_q, literal, "value", name, node.lineno, node.end_lineno or node.lineno))
    return found
