"""Scope comments in Python documents: each class member's definition line names its owner.

A chunk of 64 tokens rarely holds the class line its method belongs to, so the model could not tell
`BaseRequest.post` from another class's `post`. The document text (what the model reads) gets a trailing
comment with the qualified name on the definition line of every function and class defined directly in a
class: `    async def post(self):  # BaseRequest.post`. Only a line's end changes, so every line keeps its
number; the line's span ends before the comment, so citations and summaries show the file's own text; the
file on disk is untouched. The training corpus writes the same comments (model/data/scopes.py, from Python's
own parser; tests/test_scope_comments.py holds the two to the same text).
"""

from __future__ import annotations

import re

from ingest.records import Definition

MARK = "  # "
_DEFINITION = re.compile(r"\s*(?:async\s+def|def|class)\s+(\w+)")


def python_scope_comments(lines: list[str], definitions: list[Definition], module: str) -> list[str]:
    """The lines with scope comments, from tree-sitter's definitions of the file (module-qualified)."""
    classes = {d.qualified_name for d in definitions if d.kind == "class"}
    annotated = list(lines)
    for definition in definitions:
        owner = definition.qualified_name.rpartition(".")[0]
        if owner not in classes:
            continue
        number = _definition_line(lines, definition)
        if number is None:
            continue
        qualified = definition.qualified_name
        if module and qualified.startswith(module + "."):
            qualified = qualified[len(module) + 1:]
        line = lines[number - 1]
        if line.endswith("\\") or (line.count('"""') + line.count("'''")) % 2:
            continue  # a comment cannot go at the end of this line
        annotated[number - 1] = f"{line}{MARK}{qualified}"
    return annotated


def _definition_line(lines: list[str], definition: Definition) -> int | None:
    """The `def`/`class` line itself: a decorated definition starts at its first decorator."""
    for number in range(definition.start_line, min(definition.end_line, len(lines)) + 1):
        match = _DEFINITION.match(lines[number - 1])
        if match and match.group(1) == definition.name:
            return number
    return None

