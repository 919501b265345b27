"""The branch tree of a session: main at the root, each branch under its parent.

Labels are built with :func:`lago_tui.safe.safe_text` only (branch names are journal text).
Selecting a node (enter or click) posts :class:`BranchTree.BranchChosen`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..journal import BranchInfo
from ..safe import safe_text

__all__ = ["BranchTree", "branch_label"]


def branch_label(
    branch: BranchInfo, names: dict[str, str], *, name_style: Style | str = "", dim: Style | str = "dim",
    merge_style: Style | str = "",
) -> Text:
    """``name @fork ⤴ main@66 · 19 ev`` as a safe Text (the merge mark before the counts, so it shows
    in a narrow tree; seqs are contiguous from 1, so the head seq is the event count and shows once)."""
    label = safe_text(branch.name, name_style, single_line=True, width=40)
    if branch.parent_branch_id is not None:
        label.append(f" @{branch.fork_point_seq}", dim)
    for merge in branch.merges:
        label.append(" ⤴", merge_style)
        target = names.get(merge.target_branch_id, merge.target_branch_id)
        label.append_text(safe_text(target, merge_style, single_line=True, width=30))
        label.append(f"@{merge.at_seq}", merge_style)
    label.append(f" · {branch.event_count} ev", dim)
    if branch.head_seq != branch.event_count:
        label.append(f" (head {branch.head_seq})", dim)
    return label


class BranchTree(Tree[str]):
    """Branches of one session. Node data is the branch id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "branch-tree--dim",
        "branch-tree--merge",
        "branch-tree--selected",
    }

    DEFAULT_CSS = """
    BranchTree {
        & > .branch-tree--dim { color: $text-muted; }
        & > .branch-tree--merge { color: $text-success; }
        & > .branch-tree--selected { color: $text-accent; text-style: bold; }
    }
    """

    class BranchChosen(Message):
        def __init__(self, tree: BranchTree, branch_id: str) -> None:
            self.tree = tree
            self.branch_id = branch_id
            super().__init__()

        @property
        def control(self) -> BranchTree:
            return self.tree

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text("branches"), id=id, classes=classes)
        self.auto_expand = False
        self.show_root = True
        self.guide_depth = 2
        self.selected_branch: str | None = None
        self._branches: tuple[BranchInfo, ...] = ()

    def set_branches(self, branches: tuple[BranchInfo, ...], selected: str | None) -> None:
        """Rebuild the tree (keeps the cursor on the selected branch)."""
        self._branches = branches
        self.selected_branch = selected
        self._rebuild()

    def select_branch(self, branch_id: str) -> None:
        self.selected_branch = branch_id
        self._rebuild()

    def _rebuild(self) -> None:
        branches = self._branches
        names = {b.branch_id: b.name for b in branches}
        by_id = {b.branch_id: b for b in branches}
        children: dict[str | None, list[BranchInfo]] = {}
        root_branch = by_id.get("main") or (branches[0] if branches else None)
        for b in branches:
            if b is root_branch:
                continue
            parent = b.parent_branch_id if b.parent_branch_id in by_id else (root_branch.branch_id if root_branch else None)
            children.setdefault(parent, []).append(b)

        dim = self.get_component_rich_style("branch-tree--dim", partial=True)
        merge = self.get_component_rich_style("branch-tree--merge", partial=True)
        chosen = self.get_component_rich_style("branch-tree--selected", partial=True)

        def label_of(b: BranchInfo) -> Text:
            text = branch_label(b, names, name_style=chosen if b.branch_id == self.selected_branch else "",
                                dim=dim, merge_style=merge)
            if b.branch_id == self.selected_branch:
                text = Text("● ", chosen) + text
            return text

        self.clear()
        if root_branch is None:
            self.root.set_label(Text("(no branches)", dim))
            return
        self.root.set_label(label_of(root_branch))
        self.root.data = root_branch.branch_id
        cursor_node: TreeNode[str] | None = self.root if root_branch.branch_id == self.selected_branch else None
        seen = {root_branch.branch_id}

        def add(node: TreeNode[str], parent_id: str) -> None:
            nonlocal cursor_node
            for b in children.get(parent_id, []):
                if b.branch_id in seen:  # a cycle in hostile data
                    continue
                seen.add(b.branch_id)
                kids = children.get(b.branch_id)
                child = node.add(label_of(b), data=b.branch_id, expand=True, allow_expand=bool(kids))
                if b.branch_id == self.selected_branch:
                    cursor_node = child
                add(child, b.branch_id)

        add(self.root, root_branch.branch_id)
        self.root.expand()
        if cursor_node is not None:
            target = cursor_node
            self.call_after_refresh(lambda: self.move_cursor(target, animate=False))

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.BranchChosen(self, event.node.data))
