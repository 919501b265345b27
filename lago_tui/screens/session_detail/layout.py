"""How the detail screen shares its width: identifying text first, then the panes give way.

* below ``NARROW`` columns: stacked (tree, timeline, inspector); the tree is as tall as its branches
  (at most ``TREE_ROWS``) and hidden when there is only main;
* from ``NARROW``: tree | (timeline over inspector); from ``WIDE``: tree | timeline | inspector;
* ``z`` shows the focused pane alone; ``<``/``>`` move the timeline/inspector split (or the tree's edge).

Side by side, the tree is as wide as the branch names with their fork points and merges (the counts after
them are cut first), up to
``TREE_MAX_SHARE`` of the screen; the whole labels show when they fit in ``TREE_SHARE`` of it. The timeline's own columns give
way inside it (see :func:`lago_tui.widgets.timeline.timeline_columns`).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget

from ...widgets.branch_tree import BranchTree

__all__ = ["NARROW", "WIDE", "apply_layout", "default_share", "tree_width"]

NARROW = 120
WIDE = 160
TREE_ROWS = 5  # at most, stacked (3 on a terminal under 30 rows)
TREE_CHROME = 3  # borders and the scrollbar
TREE_MIN = 16
TREE_SHARE = 0.2  # the whole labels get up to this share of the screen
TREE_MAX_SHARE = 0.4  # the names alone, up to this


def tree_width(name_only: int, whole: int, screen_width: int) -> int:
    """Columns for the tree pane beside the timeline."""
    if whole + TREE_CHROME <= screen_width * TREE_SHARE:
        return max(TREE_MIN, whole + TREE_CHROME)
    return max(TREE_MIN, min(name_only + TREE_CHROME, int(screen_width * TREE_MAX_SHARE)))


def default_share(width: int) -> int:
    """The inspector's share of the screen (percent) at ``width`` columns, before ``<``/``>``."""
    if width >= WIDE:
        return 38  # of the width beside the tree, next to the timeline
    return 45 if width >= NARROW else 35  # of the height, under the timeline


def apply_layout(
    screen: Screen[object], tree: BranchTree, side: Widget, width: int, branches: int, *,
    zoom: str | None = None, inspector_share: int | None = None, tree_extra: int = 0,
) -> None:
    """Set the screen's layout classes and the panes' sizes for ``width`` columns and ``branches``.

    ``side`` holds the inspector (and the state panel); ``zoom`` shows one pane alone; ``inspector_share``
    (percent) and ``tree_extra`` (columns) are what ``<``/``>`` changed.
    """
    narrow = width < NARROW
    screen.set_class(narrow, "-narrow")
    screen.set_class(width >= WIDE, "-wide")
    if zoom == "tree":
        tree.display = True
        tree.styles.width = "1fr"
        tree.styles.height = "1fr"
        return
    if narrow:
        tree.display = branches > 1 and zoom is None
        tree.styles.width = "1fr"
        rows = TREE_ROWS if screen.app.size.height >= 30 else 3
        tree.styles.height = min(max(branches, 1), rows) + 1  # and the rule above
    else:
        tree.display = zoom is None
        name_only, whole = tree.wanted_widths()
        tree.styles.width = max(TREE_MIN, min(tree_width(name_only, whole, width) + tree_extra, width // 2))
        tree.styles.height = "1fr"
    share = inspector_share if inspector_share is not None else default_share(width)
    if zoom == "inspector":
        side.styles.width = "1fr"
        side.styles.height = "1fr"
    elif width >= WIDE:
        side.styles.width = f"{share}%"
        side.styles.height = "1fr"
    else:
        side.styles.width = "1fr"
        side.styles.height = f"{share}%"
