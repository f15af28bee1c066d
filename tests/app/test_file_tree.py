"""The file tree updates in place: folders first, new files in order, gone files and empty folders removed."""

from __future__ import annotations

from app.core.tasks import FileRow, RootInfo
from app.ui.file_tree import FileTree

PROJECT = RootInfo("/p/proj", False, True)
LOOSE_FILE = RootInfo("/q/note.txt", True, False)


def row(relpath: str, root: RootInfo = PROJECT, status: str = "parsed") -> FileRow:
    reason = None if status == "parsed" else "binary file type (.zip)"
    return FileRow(root, relpath, relpath, status, reason, 10, "code", "python", 0, 2)


def outline(tree: FileTree) -> list[str]:
    lines: list[str] = []

    def walk(item, depth: int) -> None:
        for index in range(item.childCount()):
            child = item.child(index)
            lines.append("  " * depth + child.text(0) + (f" [{child.text(1)}]" if child.text(1) else ""))
            walk(child, depth + 1)

    walk(tree.invisibleRootItem(), 0)
    return lines


def test_updates_keep_order_expansion_and_selection(qtbot):
    tree = FileTree()
    qtbot.addWidget(tree)
    tree.update_rows([row("b.py"), row("a/x.py"), row("note.txt", LOOSE_FILE)])
    assert outline(tree) == ["proj", "  a", "    x.py [Parsed]", "  b.py [Parsed]", "note.txt [Parsed]"]
    folder_a = tree.item_for("a/x.py").parent()
    folder_a.setExpanded(False)
    tree.setCurrentItem(tree.item_for("b.py"))

    tree.update_rows([row("b.py"), row("a/x.py", status="skipped"), row("a/c/z.py"), row("A.py"),
                      row("note.txt", LOOSE_FILE)])
    assert outline(tree) == ["proj", "  a", "    c", "      z.py [Parsed]", "    x.py [Skipped]",
                             "  A.py [Parsed]", "  b.py [Parsed]", "note.txt [Parsed]"]
    assert not folder_a.isExpanded()  # the user's choice survives a refresh
    assert tree.current_row().path == "b.py"
    assert tree.tooltip_for(tree.item_for("a/x.py"), 1) == "Skipped: binary file type (.zip)"
    assert tree.tooltip_for(tree.item_for("b.py"), 1) == "Parsed · python · 2 definitions"

    tree.update_rows([row("note.txt", LOOSE_FILE)])
    assert outline(tree) == ["note.txt [Parsed]"]  # empty folders went with their files
    tree.update_rows([])
    assert outline(tree) == []


def test_the_state_column_fits_its_labels_after_an_update(qtbot):
    # the column is fitted once per update (not after each row's change, which stalled the window for 0.7 s
    # on a 200-file project): it must still be as wide as its widest label, growing and shrinking with them
    tree = FileTree()
    qtbot.addWidget(tree)
    tree.show()
    tree.update_rows([row(f"m{i}.py", status="parsed") for i in range(5)])
    parsed = tree.header().sectionSize(1)
    assert parsed >= tree.sizeHintForColumn(1) > 0
    tree.update_rows([row(f"m{i}.py", status="encoded") for i in range(5)])
    assert tree.header().sectionSize(1) == tree.sizeHintForColumn(1) != parsed
