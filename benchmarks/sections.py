"""docs/benchmarks.md is written by several scripts, each owning one "## Title" section."""

from pathlib import Path


def replace_section(path: Path, title: str, body: str) -> None:
    """Put `body` (which starts with the "## title" line) in place of that section, or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(title + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + body.rstrip("\n") + "\n" + ("\n" + text[end + 1:] if end >= 0 else "")
    path.write_text(text)
