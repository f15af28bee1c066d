"""The left sidebar: the projects, the current project's watched folders, and its file tree with states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSplitter,
    QStyle,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.tasks import FileRow, ProjectInfo, RootInfo
from app.ui.file_tree import PATH_ROLE, FileTree
from app.ui.theme import READABLE, STATUS_LABELS

ROW_ROLE = Qt.ItemDataRole.UserRole
REMOVE_TIP = "Stop watching the selected folder"


def section(title: str, *buttons: QToolButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(2, 8, 0, 2)
    row.addWidget(QLabel(title.upper(), objectName="SectionLabel"))
    row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    return row


class ProjectPanel(QWidget):
    projectChosen = Signal(str)  # primary root
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)  # the root path
    fileSelected = Signal(object)  # FileRow, or None when nothing is selected
    fileActivated = Signal(object)  # FileRow (double-click / Enter)
    summarizeRequested = Signal(object)  # FileRow (the tree's context menu)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.project: ProjectInfo | None = None

        self.projects = QListWidget()
        self.projects.itemActivated.connect(self._project_activated)
        self.projects.itemClicked.connect(self._project_activated)

        add_folder = QToolButton(text="+", toolTip="Add a folder to this project", autoRaise=True)
        add_folder.clicked.connect(self.addFolderRequested)
        self.remove_folder = QToolButton(text="−", toolTip=REMOVE_TIP, autoRaise=True)
        self.remove_folder.clicked.connect(self._remove_clicked)
        self.folders = QListWidget()
        self.folders.currentItemChanged.connect(self._update_remove_button)

        self.summary = QLabel(objectName="Muted")
        self.tree = FileTree()
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemActivated.connect(self._item_activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(section("Projects"))
        top_layout.addWidget(self.projects)
        top_layout.addLayout(section("Watched folders", add_folder, self.remove_folder))
        top_layout.addWidget(self.folders)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(section("Files"))
        bottom_layout.addWidget(self.summary)
        bottom_layout.addWidget(self.tree, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 8)
        layout.addWidget(splitter)
        self._update_remove_button()

    # projects -----------------------------------------------------------------------------------------

    def set_projects(self, projects: list[ProjectInfo], current: str | None) -> None:
        self.projects.blockSignals(True)
        self.projects.clear()
        for project in projects:
            item = QListWidgetItem(project.name if project.error is None else f"{project.name} (unreadable)")
            item.setData(ROW_ROLE, project.root)
            item.setToolTip(project.error or project.root)
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon))
            self.projects.addItem(item)
            if project.root == current:
                self.projects.setCurrentItem(item)
        self.projects.blockSignals(False)

    def _project_activated(self, item: QListWidgetItem) -> None:
        root = item.data(ROW_ROLE)
        if self.project is None or root != self.project.root:
            self.projectChosen.emit(root)

    # folders ------------------------------------------------------------------------------------------

    def _remove_clicked(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            self.removeFolderRequested.emit(item.data(ROW_ROLE).path)

    def _update_remove_button(self, *_: object) -> None:
        item = self.folders.currentItem()
        root: RootInfo | None = item.data(ROW_ROLE) if item is not None else None
        self.remove_folder.setEnabled(root is not None and not root.primary)
        primary = root is not None and root.primary
        self.remove_folder.setToolTip("The main folder names the project and cannot be removed" if primary
                                      else REMOVE_TIP)

    # files --------------------------------------------------------------------------------------------

    def show_project(self, project: ProjectInfo | None, rows: list[FileRow]) -> None:
        """Show `project`'s folders and files; for the same project only what changed is updated."""
        same = self.project is not None and project is not None and self.project.root == project.root
        self.project = project
        self.folders.clear()
        for root in project.roots if project else []:
            item = QListWidgetItem(Path(root.path).name + ("  (main)" if root.primary else ""))
            item.setData(ROW_ROLE, root)
            item.setToolTip(root.path)
            kind = QStyle.StandardPixmap.SP_FileIcon if root.is_file else QStyle.StandardPixmap.SP_DirIcon
            item.setIcon(self.style().standardIcon(kind))
            self.folders.addItem(item)
        for index in range(self.projects.count()):
            if project is not None and self.projects.item(index).data(ROW_ROLE) == project.root:
                self.projects.setCurrentRow(index)
        self._update_remove_button()
        selected = self.tree.current_row()
        self.tree.blockSignals(True)
        self.tree.setUpdatesEnabled(False)  # one repaint for the whole update
        if not same:
            self.tree.forget_rows()
        self.tree.update_rows(rows)
        self.tree.setUpdatesEnabled(True)
        self.tree.blockSignals(False)
        counts = Counter(row.status for row in rows)
        totals = [f"{counts[s]:,} {STATUS_LABELS[s].lower()}" for s in STATUS_LABELS if counts[s]]
        self.summary.setText(" · ".join(totals) or "No files yet")
        if selected != self.tree.current_row():
            self.fileSelected.emit(self.tree.current_row())  # the selected file changed or went away

    @property
    def rows(self) -> dict[str, FileRow]:
        return self.tree.rows

    def item_for(self, path: str) -> QTreeWidgetItem | None:
        return self.tree.item_for(path)

    def selected_row(self) -> FileRow | None:
        return self.tree.current_row()

    def _current_changed(self, *_: object) -> None:
        self.fileSelected.emit(self.selected_row())

    def file_menu(self, row: FileRow) -> QMenu:
        """What can be done with a file: open it, summarize it (when it was read)."""
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.fileActivated.emit(row))
        summarize = menu.addAction("Summarize", lambda: self.summarizeRequested.emit(row))
        summarize.setEnabled(row.status in READABLE)
        return menu

    def _context_menu(self, position: QPoint) -> None:
        item = self.tree.itemAt(position)
        row = self.rows.get(item.data(0, PATH_ROLE)) if item is not None else None
        if row is not None:
            self.file_menu(row).exec(self.tree.viewport().mapToGlobal(position))

    def _item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        path = item.data(0, PATH_ROLE)
        if path in self.rows:
            self.fileActivated.emit(self.rows[path])
