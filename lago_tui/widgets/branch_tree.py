"""The branch tree of a session: main at the root, each branch under its parent.

Labels are built with :func:`lago_tui.safe.safe_text` only (branch names are journal text), the name
first so that a narrow pane cuts the counts, never the name. Selecting a node (enter or click) posts
:class:`BranchTree.BranchChosen`.

Live updates relabel the nodes in place: the tree is rebuilt only when branches appear or move, and a
rebuild never takes the cursor from someone moving it.
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

_MARK = "● "  # before the selected branch's name


def branch_label(
    branch: BranchInfo, names: dict[str, str], *, name_style: Style | str = "", dim: Style | str = "dim",
    merge_style: Style | str = "", counts: bool = True,
) -> Text:
    """``name @fork ⤴ main@66 · 19 ev`` as a safe Text (the merge mark before the counts, so it shows
    in a narrow tree; seqs are contiguous from 1, so the head seq is the event count and shows once).
    Without ``counts``: what identifies the branch and where it went, which a narrow tree must not cut."""
    label = safe_text(branch.name, name_style, single_line=True, width=40)
    if branch.parent_branch_id is not None:
        label.append(f" @{branch.fork_point_seq}", dim)
    for merge in branch.merges:
        label.append(" ⤴", merge_style)
        target = names.get(merge.target_branch_id, merge.target_branch_id)
        label.append_text(safe_text(target, merge_style, single_line=True, width=30))
        label.append(f"@{merge.at_seq}", merge_style)
    if not counts:
        return label
    label.append(f" · {branch.event_count:,} ev", dim)
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
        self._structure: tuple[tuple[str, str | None], ...] | None = None
        self._branch_nodes: dict[str, TreeNode[str]] = {}
        self._branch_depth: dict[str, int] = {}
        self._placing: tuple[str, int] | None = None  # (branch, cursor line when asked) until placed

    # ------------------------------------------------------------------ public

    def set_branches(self, branches: tuple[BranchInfo, ...], selected: str | None) -> None:
        """Show ``branches`` with ``selected`` marked: relabels in place when only counts changed."""
        self._branches = branches
        self.selected_branch = selected
        structure = tuple((b.branch_id, b.parent_branch_id) for b in branches)
        if structure == self._structure and self._branch_nodes:
            self._relabel()
            return
        self._structure = structure
        self._rebuild()

    def select_branch(self, branch_id: str) -> None:
        """Mark ``branch_id`` as the one shown (the cursor stays where the user put it)."""
        self.selected_branch = branch_id
        self._relabel()

    def wanted_widths(self) -> tuple[int, int]:
        """Cells (guides included) for the longest (name, fork point and merges; whole label) line."""
        names = {b.branch_id: b.name for b in self._branches}
        name_only = whole = 0
        for b in self._branches:
            indent = 2 * self._branch_depth.get(b.branch_id, 0) + 2 + len(_MARK)
            name_only = max(name_only, indent + branch_label(b, names, counts=False).cell_len)
            whole = max(whole, indent + branch_label(b, names).cell_len)
        return name_only, whole

    def move_cursor(self, node: TreeNode[str] | None, animate: bool = False) -> None:
        self._placing = None  # an explicit move wins over a placement still waiting for a refresh
        super().move_cursor(node, animate=animate)

    # ------------------------------------------------------------------ building

    def _styles(self) -> tuple[Style, Style, Style]:
        get = self.get_component_rich_style
        return (get("branch-tree--dim", partial=True), get("branch-tree--merge", partial=True),
                get("branch-tree--selected", partial=True))

    def _label_of(self, b: BranchInfo, names: dict[str, str], styles: tuple[Style, Style, Style]) -> Text:
        dim, merge, chosen = styles
        selected = b.branch_id == self.selected_branch
        text = branch_label(b, names, name_style=chosen if selected else "", dim=dim, merge_style=merge)
        return Text(_MARK, chosen) + text if selected else text

    def _relabel(self) -> None:
        names = {b.branch_id: b.name for b in self._branches}
        styles = self._styles()
        for b in self._branches:
            node = self._branch_nodes.get(b.branch_id)
            if node is not None:
                node.set_label(self._label_of(b, names, styles))

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
        styles = self._styles()
        # Where the cursor goes once the new lines exist: where the user had it (if they are in the tree),
        # else on the branch shown.
        under_cursor = self.cursor_node.data if self.cursor_node is not None else None
        keep = under_cursor if self.has_focus and under_cursor in by_id else self.selected_branch

        self.clear()
        self._branch_nodes = {}
        self._branch_depth = {}
        if root_branch is None:
            self.root.set_label(Text("(no branches)", styles[0]))
            return
        self.root.set_label(self._label_of(root_branch, names, styles))
        self.root.data = root_branch.branch_id
        self._branch_nodes[root_branch.branch_id] = self.root
        self._branch_depth[root_branch.branch_id] = 0

        def add(node: TreeNode[str], parent_id: str, depth: int) -> None:
            for b in children.get(parent_id, []):
                if b.branch_id in self._branch_nodes:  # a cycle in hostile data
                    continue
                kids = children.get(b.branch_id)
                child = node.add(self._label_of(b, names, styles), data=b.branch_id, expand=True,
                                 allow_expand=bool(kids))
                self._branch_nodes[b.branch_id] = child
                self._branch_depth[b.branch_id] = depth
                add(child, b.branch_id, depth + 1)

        add(self.root, root_branch.branch_id, 1)
        self.root.expand()
        if keep in self._branch_nodes:
            # Node lines exist after the next refresh. If the cursor moves before then (a key, a click,
            # move_cursor), that move wins.
            self._placing = (keep, self.cursor_line)
            self.call_after_refresh(self._place_cursor)

    def _place_cursor(self) -> None:
        placing, self._placing = self._placing, None
        if placing is None:
            return
        branch_id, line = placing
        node = self._branch_nodes.get(branch_id)
        if node is not None and self.cursor_line == line:
            super().move_cursor(node, animate=False)

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.BranchChosen(self, event.node.data))
