"""The project's file tree: folders first, each file with its state (encoded, parsed, skipped, failed) and
why.

`update(rows)` changes only what changed since the last call (new files are inserted in order, gone ones
removed, changed states repainted), so refreshing a 30,000-file project during an ingest or after a live
change costs milliseconds, and expanded folders and the selection stay as the user left them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHeaderView, QStyle, QToolTip, QTreeWidget, QTreeWidgetItem, QWidget

from app.core.tasks import FileRow, RootInfo
from app.ui.theme import READABLE, STATUS_LABELS, status_icon

PATH_ROLE = Qt.ItemDataRole.UserRole  # a file item's document path
FOLDER_ROLE = Qt.ItemDataRole.UserRole + 1  # a folder item's path, for its tooltip
EXPAND_ALL_BELOW = 300  # a project with fewer files shows every folder open


def describe(row: FileRow) -> str:
    """The tooltip of a file: its state and why (or what was found in it)."""
    label = STATUS_LABELS.get(row.status, row.status)
    if row.status not in READABLE:
        return f"{label}: {row.reason or 'no reason recorded'}"
    found = [row.language or row.kind or "text"]
    if row.pages:
        found.append(f"{row.pages} pages")
    if row.definitions:
        found.append(f"{row.definitions} definition{'s' if row.definitions != 1 else ''}")
    if row.status == "encoded":
        found.append("in the model's memory")
    return f"{label} · " + " · ".join(found)


def _order(row: FileRow) -> list[tuple[int, str]]:
    parts = row.relpath.lower().split("/")
    return [(0, part) for part in parts[:-1]] + [(1, parts[-1])]


class _SortKeys(Sequence):
    """The sort keys of an item's children, read on demand: bisect touches only log(n) of them."""

    def __init__(self, parent: QTreeWidgetItem):
        self.parent = parent

    def __len__(self) -> int:
        return self.parent.childCount()

    def __getitem__(self, index: int) -> tuple[int, str]:
        child = self.parent.child(index)
        return (0 if child.childCount() or child.data(0, PATH_ROLE) is None else 1), child.text(0).lower()


class FileTree(QTreeWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderLabels(["Name", "State"])
        self.setUniformRowHeights(True)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.rows: dict[str, FileRow] = {}  # document path -> row
        self._items: dict[str, QTreeWidgetItem] = {}  # document path -> file item
        self._folders: dict[tuple[str, str], QTreeWidgetItem] = {}  # (root path, folder relpath) -> item
        self._folder_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)

    def forget_rows(self) -> None:
        self.clear()
        self.rows, self._items, self._folders = {}, {}, {}

    def update_rows(self, rows: list[FileRow]) -> None:
        """Show `rows`: add new files, drop gone ones, repaint changed states. The state column fits its
        contents once at the end: fitted after each change, repainting the 200 visible rows of an expanded
        project cost the GUI thread 0.7 s (every change re-measured every visible row)."""
        header = self.header()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        try:
            self._update_rows(rows)
        finally:
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)

    def _update_rows(self, rows: list[FileRow]) -> None:
        fresh = not self._items and not self._folders
        expand_new = len(rows) < EXPAND_ALL_BELOW
        wanted = {row.path: row for row in rows}
        for path in self._items.keys() - wanted.keys():
            self._remove(self._items.pop(path))
        root_problems = {row.root.path: row for row in rows if row.relpath == "." and not row.root.is_file}
        added = [row for row in rows if row.path not in self._items and row.root.path not in root_problems]
        changed = [row for row in rows if row.path in self._items and self.rows.get(row.path) != row]
        for row in sorted(added, key=lambda r: (not r.root.primary, r.root.path, _order(r))):
            item = self._items[row.path] = self._add(row, append=fresh, expand_new=expand_new)
            self._paint(item, row)
        for row in changed:
            self._paint(self._items[row.path], row)
        for (root_path, relpath), item in self._folders.items():
            if relpath == "" and root_path in root_problems:
                self._paint(item, root_problems[root_path])
            elif relpath == "" and item.text(1):  # a root folder that is readable again
                item.setText(1, "")
                item.setIcon(1, QIcon())
        for root_path, problem in root_problems.items():
            if (root_path, "") not in self._folders:
                self._paint(self._folder(problem.root, "", fresh, expand_new), problem)
        self.rows = wanted

    # items ------------------------------------------------------------------------------------------

    def _add(self, row: FileRow, append: bool, expand_new: bool) -> QTreeWidgetItem:
        if row.root.is_file:
            name = Path(row.root.path).name
            return self._insert(self.invisibleRootItem(), (1, name.lower()), name, append)
        parent = self._folder(row.root, "", append, expand_new)
        parts = row.relpath.split("/")
        for depth in range(1, len(parts)):
            parent = self._folder(row.root, "/".join(parts[:depth]), append, expand_new)
        return self._insert(parent, (1, parts[-1].lower()), parts[-1], append)

    def _folder(self, root: RootInfo, relpath: str, append: bool, expand_new: bool) -> QTreeWidgetItem:
        key = (root.path, relpath)
        item = self._folders.get(key)
        if item is None:
            if relpath:
                parent = self._folders[(root.path, relpath.rpartition("/")[0])]
                name = relpath.rpartition("/")[2]
            else:
                parent, name = self.invisibleRootItem(), Path(root.path).name
            item = self._insert(parent, (0, name.lower()), name, append)
            item.setIcon(0, self._folder_icon)
            item.setData(0, FOLDER_ROLE, root.path if not relpath else f"{Path(root.path).name}/{relpath}")
            self._folders[key] = item
            item.setExpanded(expand_new or not relpath)
        return item

    @staticmethod
    def _insert(parent: QTreeWidgetItem, order: tuple[int, str], name: str, append: bool) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, ""])
        if append or parent.childCount() == 0:
            parent.addChild(item)
        else:
            parent.insertChild(bisect_left(_SortKeys(parent), order), item)
        return item

    def _remove(self, item: QTreeWidgetItem) -> None:
        """Remove a file item and every folder above it that is left empty."""
        parent = item.parent()  # None for a top-level item
        (parent or self.invisibleRootItem()).removeChild(item)
        while parent is not None and parent.childCount() == 0:
            self._folders = {key: value for key, value in self._folders.items() if value is not parent}
            above = parent.parent()
            (above or self.invisibleRootItem()).removeChild(parent)
            parent = above

    @staticmethod
    def _paint(item: QTreeWidgetItem, row: FileRow) -> None:
        item.setData(0, PATH_ROLE, row.path if row.relpath != "." else None)
        item.setText(1, STATUS_LABELS.get(row.status, row.status))
        item.setIcon(1, status_icon(row.status))

    def tooltip_for(self, item: QTreeWidgetItem, column: int) -> str:
        """Tooltips are made when asked for (setting 30,000 of them up front costs a second)."""
        row = self.rows.get(item.data(0, PATH_ROLE) or "")
        folder = item.data(0, FOLDER_ROLE)
        if row is None and folder is not None:
            problems = (r for r in self.rows.values() if r.relpath == "." and r.root.path == folder)
            problem = next(problems, None)
            return describe(problem) if problem is not None and column == 1 else folder
        if row is None:
            return ""
        return describe(row) if column == 1 else f"{row.path}\n{describe(row)}"

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            position = event.pos()
            item = self.itemAt(position)
            text = self.tooltip_for(item, self.columnAt(position.x())) if item is not None else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    # lookups ----------------------------------------------------------------------------------------

    def item_for(self, path: str) -> QTreeWidgetItem | None:
        """The item of a document path; for a root folder that could not be read, its folder item."""
        if path in self._items:
            return self._items[path]
        row = self.rows.get(path)
        return self._folders.get((row.root.path, "")) if row is not None and row.relpath == "." else None

    def current_row(self) -> FileRow | None:
        item = self.currentItem()
        path = item.data(0, PATH_ROLE) if item is not None else None
        return self.rows.get(path) if path else None
