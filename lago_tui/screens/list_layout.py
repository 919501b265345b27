"""Where the session list puts its panes and columns, for any terminal size (pure: no Textual widgets).

The rule (issue 12.1): the name identifies a session, so it wins space first; the other columns join in
order of importance while they fit; the preview sits beside the table only when the names still fit,
takes what the table leaves, and gives way (below the table, or hidden) on smaller terminals. The column
the list is sorted by is always shown, with room for its arrow. Every column's width leaves room for its
label and a sort arrow, so sorting never squeezes a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..widgets.virtual_list import Column

__all__ = [
    "COLUMN_ORDER",
    "PREVIEW_MIN",
    "Plan",
    "plan_layout",
]

Mode = Literal["beside", "below", "none"]

# Display order (and the 1-8 sort keys): (key, label, width, align). Widths fit "label ▼".
COLUMN_ORDER: tuple[tuple[str, str, int, Literal["left", "right"]], ...] = (
    ("name", "name", 0, "left"),  # flexible: what is left
    ("id", "id", 10, "left"),
    ("model", "model", 10, "left"),  # minimum; grows to the widest model
    ("branches", "br", 4, "right"),
    ("events", "events", 8, "right"),
    ("tokens", "tokens", 9, "right"),
    ("last_activity", "active", 9, "right"),
    ("created", "created", 10, "left"),
)
# Which columns join first, after the name.
_IMPORTANCE = ("last_activity", "events", "model", "tokens", "branches", "created", "id")
_SPEC = {key: (label, width, align) for key, label, width, align in COLUMN_ORDER}

GAP = 1  # cells between columns (VirtualTable's)
NAME_MIN = 12  # never narrower than this when anything else is shown
NAME_CAP = 64  # a name wider than this is cut (scroll with h/l) rather than taking everything
MODEL_CAP = 28
ID_WANT = 26  # a whole ULID; a prefix (what the CLI accepts) when there is less room
PREVIEW_MIN = 44  # the narrowest preview shown beside the table (automatically)
PREVIEW_USER_MIN = 24  # the narrowest a person may make it with < and >
PREVIEW_MAX = 110  # beyond this the table takes the rest
TALL = 30  # from this height the preview goes below the table when it cannot sit beside it
BELOW_SHARE = 0.4
BELOW_MIN = 8
TABLE_MIN_ROWS = 5


@dataclass(frozen=True, slots=True)
class Plan:
    mode: Mode
    """Where the preview is: beside the table, below it, or not shown."""
    preview: int
    """Its width (beside) or height (below), in cells, including the divider; 0 when not shown."""
    columns: tuple[Column, ...]
    """The table's columns for the width it gets."""
    table_width: int
    """Cells the table gets (including its scrollbar)."""


def _columns(inner: int, name_want: int, model_want: int, sort_key: str) -> tuple[Column, ...]:
    """The columns for a table ``inner`` cells wide (scrollbar excluded)."""
    name_want = max(NAME_MIN, min(name_want, NAME_CAP))
    model_want = max(_SPEC["model"][1], min(model_want, MODEL_CAP))
    order = list(_IMPORTANCE)
    if sort_key in order:  # the sorted column is shown first of all, so its arrow is never hidden
        order.remove(sort_key)
        order.insert(0, sort_key)
    chosen: dict[str, int] = {}
    free = inner - name_want
    if free < 0 and sort_key in _SPEC and sort_key != "name":
        # Not even the names fit: still show the sorted column if the names keep most of their room.
        width = _SPEC[sort_key][1]
        if inner - width - GAP >= min(name_want, 20):
            chosen[sort_key] = width
    else:
        for key in order:  # in order of importance, stopping at the first that does not fit
            least = _SPEC[key][1]
            want = model_want if key == "model" else ID_WANT if key == "id" else least
            if free >= want + GAP:
                chosen[key] = want
                free -= want + GAP
                continue
            if free >= least + GAP:  # the last one that fits, in what is left
                chosen[key] = free - GAP
            break
    columns = [Column("name", "name", None, min_width=min(NAME_MIN, max(1, inner)))]
    for key, label, _, align in COLUMN_ORDER[1:]:
        if key in chosen:
            columns.append(Column(key, label, chosen[key], align=align))
    return tuple(columns)


def _table_want(name_want: int, model_want: int) -> int:
    """Inner width at which every column is shown at its wanted width."""
    name_want = max(NAME_MIN, min(name_want, NAME_CAP))
    model_want = max(_SPEC["model"][1], min(model_want, MODEL_CAP))
    fixed = sum(width for key, _, width, _ in COLUMN_ORDER[1:] if key not in ("model", "id")) + model_want + ID_WANT
    return name_want + fixed + GAP * (len(COLUMN_ORDER) - 1)


_ESSENTIAL = ("last_activity", "events", "model", "tokens")


def _essential(name_want: int) -> int:
    """Inner width that shows the names whole with the columns worth more than a preview beside them."""
    name_want = max(NAME_MIN, min(name_want, NAME_CAP))
    return name_want + sum(_SPEC[key][1] + GAP for key in _ESSENTIAL)


def plan_layout(
    width: int,
    height: int,
    *,
    name_want: int,
    model_want: int = 16,
    sort_key: str = "last_activity",
    preview: int | None = None,
    orientation: Mode | None = None,
    zoom: Literal["table", "preview"] | None = None,
    scrollbar: int = 2,
) -> Plan:
    """Panes and columns for a ``width`` x ``height`` body.

    ``preview``: the size a person chose with ``<``/``>`` (None: automatic; 0: hidden); ``orientation``
    the mode it was chosen in (a chosen size applies only while the layout keeps that orientation).
    ``zoom``: one pane fills the screen. ``scrollbar``: the table's scrollbar width.
    """
    width, height = max(1, width), max(1, height)

    def table_only(mode: Mode = "none", size: int = 0, table_width: int = width) -> Plan:
        inner = max(1, table_width - scrollbar)
        return Plan(mode, size, _columns(inner, name_want, model_want, sort_key), table_width)

    if zoom == "table":
        return table_only()
    if zoom == "preview":
        return Plan("beside", width, _columns(max(1, width - scrollbar), name_want, model_want, sort_key), 0)

    if preview is not None and preview <= 0 and orientation is not None:
        return table_only()  # hidden by the person (">" past its minimum)

    essential = _essential(name_want) + scrollbar
    auto_beside = width - essential - 1 >= PREVIEW_MIN
    mode: Mode
    if orientation in ("beside", "below") and preview is not None:
        mode = orientation
    elif auto_beside:
        mode = "beside"
    elif height >= TALL:
        mode = "below"
    else:
        mode = "none"

    if mode == "beside":
        if preview is not None and orientation == "beside":
            if preview <= 0:
                return table_only()
            most = max(PREVIEW_USER_MIN, width - (NAME_MIN + scrollbar) - 1)
            size = max(PREVIEW_USER_MIN, min(preview, most))
        else:
            want = _table_want(name_want, model_want) + scrollbar
            size = max(PREVIEW_MIN + 1, min(width - want, PREVIEW_MAX + 1))  # with its divider
            size = min(size, width - essential)
        if size >= width - 4:
            return table_only()
        return table_only("beside", size, width - size)
    if mode == "below":
        if preview is not None and orientation == "below":
            if preview <= 0:
                return table_only()
            size = max(3, min(preview, height - TABLE_MIN_ROWS - 1))
        else:
            size = max(BELOW_MIN, int(height * BELOW_SHARE)) + 1
        if height - size < TABLE_MIN_ROWS:
            return table_only()
        return table_only("below", size)
    return table_only()


def next_preview_size(plan: Plan, width: int, height: int, direction: int, *, step: int | None = None) -> tuple[Mode, int]:
    """The preview size after ``<`` (direction -1: the divider moves left / up, the preview grows) or ``>``.

    From no preview, ``<`` opens one (beside when wide enough, else below); shrinking it past its minimum
    hides it.
    """
    if plan.mode == "none":
        if direction > 0:
            return "none", 0
        if width >= 2 * PREVIEW_USER_MIN + 10:
            return "beside", max(PREVIEW_USER_MIN, width // 3)
        return "below", max(BELOW_MIN, height // 3)
    if plan.mode == "beside":
        size = plan.preview - direction * (step or max(2, width // 20))
        return "beside", (0 if size < PREVIEW_USER_MIN else size)
    size = plan.preview - direction * (step or max(1, height // 12))
    return "below", (0 if size < 3 else size)
