"""Keys and commands, per screen, built from the screens' and widgets' own ``BINDINGS``.

Nothing here lists a key by hand (except the few moves that are not bindings: the mouse, typing into a
field): each section is the bindings of the classes that make up a screen, in the order they declare
them, with their descriptions. A key someone adds to a screen or widget appears here by itself; a new
screen appears in a section of its own (named by its ``HELP_TITLE`` or its class name); widgets found on
the screens open right now are added to their screen's section.

All of it is static text of ours (binding descriptions), shown without markup.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.keys import format_key
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

__all__ = ["HelpScreen", "Section", "help_plain", "key_label", "sections"]

# Screens (and the widgets they are made of), by import path, in the order help shows them. The
# bindings themselves are read from the classes, so nothing else here needs to change when keys do.
_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Everywhere", ("lago_tui.app:LagoApp",)),
    (
        "Session list",
        (
            "lago_tui.screens.session_list:SessionListScreen",
            "lago_tui.widgets.virtual_list:VirtualTable",
            "lago_tui.screens.session_list:FilterInput",
            "lago_tui.widgets.session_preview:SessionPreview",
        ),
    ),
    (
        "Session detail",
        (
            "lago_tui.screens.session_detail:SessionDetailScreen",
            "lago_tui.widgets.timeline:TimelineView",
            "lago_tui.widgets.virtual_list:VirtualTable",
            "lago_tui.widgets.branch_tree:BranchTree",
            "lago_tui.widgets.inspector:Inspector",
        ),
    ),
    ("Full text", ("lago_tui.widgets.inspector:FullTextScreen",)),
    ("Kind filter", ("lago_tui.screens.session_detail:KindFilterScreen",)),
    (
        "Forms (new session, new branch, rename, close, delete)",
        (
            "lago_tui.screens.form_base:FormScreen",
            "lago_tui.screens.create_session:CreateSessionScreen",
            "lago_tui.screens.create_branch:CreateBranchScreen",
            "lago_tui.screens.manage:ManageScreen",
        ),
    ),
    ("Saved views", ("lago_tui.screens.views_menu:ViewsMenuScreen",)),
    ("Journal error", ("lago_tui.screens.error:JournalErrorScreen",)),
    ("This help", ("lago_tui.screens.help:HelpScreen",)),
)

# Moves that are not bindings, per section.
_EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "Everywhere": (
        ("ctrl+p", "Command palette: open any session by name, saved views, theme, time zone, help"),
        ("mouse", "Click rows, headers (sort), tabs and buttons; scroll with the wheel"),
    ),
    "Session list": (("type", "In the query box: filter as you type (name, id, model, or typed terms)"),),
    "Forms (new session, new branch, rename, close, delete)": (
        ("tab / shift+tab", "Next / previous field"),
        ("enter", "Accept the suggestion shown; else next field; on the last field, create"),
    ),
}

_KEY_NAMES = {"enter": "enter", "escape": "esc", "space": "space", "tab": "tab"}
_PACKAGES = ("lago_tui.screens", "lago_tui.widgets")


def key_label(keys: str) -> str:
    """``"up,k"`` -> ``"↑ / k"``; ``"question_mark"`` -> ``"?"``."""
    shown: list[str] = []
    for key in keys.split(","):
        key = key.strip()
        if key:
            label = _KEY_NAMES.get(key) or format_key(key)
            if label not in shown:
                shown.append(label)
    return " / ".join(shown)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: tuple[tuple[str, str], ...]  # (keys, what)


def _load(path: str) -> type | None:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None  # a screen not in this build
    found = getattr(module, attr, None)
    return found if isinstance(found, type) else None


def _own_bindings(cls: type) -> Iterator[Binding]:
    """The bindings ``cls`` declares or inherits from lago-tui classes (not Textual's own defaults)."""
    chain: list[type] = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("lago_tui"):
            if klass is App:
                chain.append(klass)  # ctrl+q and the palette come from App itself
            continue
        chain.append(klass)
        if not getattr(klass, "_inherit_bindings", True):
            break
    seen: set[tuple[str, str]] = set()
    for klass in chain:
        declared: Iterable[BindingType] = klass.__dict__.get("BINDINGS", ())
        for item in declared:
            binding = item if isinstance(item, Binding) else Binding(*item)
            if not binding.description or binding.action in ("ignore", "noop"):
                continue
            mark = (binding.key, binding.action)
            if mark not in seen:
                seen.add(mark)
                yield binding


def _merge_runs(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Neighbouring keys that do the same (``1``..``9`` "apply the view with this number") on one row."""
    merged: list[tuple[list[str], str]] = []
    for key, what in rows:
        if merged and merged[-1][1] == what:
            merged[-1][0].append(key)
        else:
            merged.append(([key], what))
    out: list[tuple[str, str]] = []
    for keys, what in merged:
        if len(keys) > 3 and all(len(k) == 1 for k in keys):
            out.append((f"{keys[0]} … {keys[-1]}", what))
        else:
            out.append((" / ".join(keys), what))
    return out


def _rows(classes: Iterable[type]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    taken: set[str] = set()
    for cls in classes:
        for binding in _own_bindings(cls):
            keys = ",".join(k for k in binding.key.split(",") if k.strip() and k.strip() not in taken)
            if not keys:
                continue  # a key an earlier class in the section (the screen) already gives
            taken.update(k.strip() for k in keys.split(","))
            label = binding.key_display if binding.key_display and "," not in binding.key else key_label(keys)
            rows.append((label, binding.tooltip or binding.description))
    return _merge_runs(rows)


def _all_screen_classes() -> list[type]:
    """Every Screen class in lago-tui's screens and widgets packages (importing them)."""
    found: list[type] = []
    for package_name in _PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        for info in pkgutil.iter_modules(package.__path__, package_name + "."):
            try:
                module = importlib.import_module(info.name)
            except ImportError:
                continue
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, Screen)
                    and value.__module__ == module.__name__
                    and value not in found
                ):
                    found.append(value)
    return found


def _title_of(cls: type) -> str:
    title = getattr(cls, "HELP_TITLE", None)
    if isinstance(title, str) and title:
        return title
    name = cls.__name__.removesuffix("Screen")
    words = "".join(f" {c}" if c.isupper() else c for c in name).strip()
    return words[:1].upper() + words[1:].lower()


def sections(app: App[Any] | None = None) -> list[Section]:
    """The help, section by section. With ``app``: widgets on its open screens are included too."""
    layout: list[tuple[str, list[type]]] = []
    owner: dict[type, int] = {}
    for title, paths in _LAYOUT:
        classes = [cls for cls in (_load(path) for path in paths) if cls is not None]
        if classes:
            for cls in classes:
                owner.setdefault(cls, len(layout))
            layout.append((title, classes))
    for cls in _all_screen_classes():
        if any(issubclass(cls, known) for known in owner):
            continue  # a kind of a screen already listed (a dialog of the forms): its keys are there
        if any(True for _ in _own_bindings(cls)):
            owner[cls] = len(layout)
            layout.append((_title_of(cls), [cls]))
    if app is not None:
        for screen in app.screen_stack:
            index = owner.get(type(screen))
            if index is None:
                continue
            classes = layout[index][1]
            for node in screen.walk_children(with_self=False):
                cls = type(node)
                if cls not in classes and cls.__module__.startswith("lago_tui") and isinstance(node, DOMNode):
                    classes.append(cls)
    result: list[Section] = []
    for title, classes in layout:
        rows = _rows(classes) + list(_EXTRAS.get(title, ()))
        if rows:
            result.append(Section(title, tuple(rows)))
    return result


FOOTNOTE = "Keys listed under a screen work there; 'Everywhere' keys work on every screen unless a field has the focus."


def help_plain(app: App[Any] | None = None) -> str:
    """The help as plain text (for tests and for reading in a terminal)."""
    lines: list[str] = []
    for section in sections(app):
        lines.append(section.title)
        lines += [f"  {key:<22} {what}" for key, what in section.rows]
        lines.append("")
    return "\n".join(lines + [FOOTNOTE])


class HelpScreen(ModalScreen[None]):
    """Every key, per screen; scrollable; escape, q or ? closes it."""

    CSS_PATH = "help.tcss"
    HELP_TITLE = "This help"
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close the help"),
        Binding("j,down", "scroll('down')", "Scroll down", show=False),
        Binding("k,up", "scroll('up')", "Scroll up", show=False),
        Binding("space,pagedown,ctrl+f", "page('down')", "Page down", show=False),
        Binding("pageup,ctrl+b", "page('up')", "Page up", show=False),
        Binding("n", "ignore", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape · q · ? close"
            with VerticalScroll(id="help-body"):
                for section in sections(self.app):
                    yield Static(section.title, classes="help-title", markup=False)
                    for key, what in section.rows:
                        with Horizontal(classes="help-row"):
                            yield Static(key, classes="help-key", markup=False)
                            yield Static(what, classes="help-what", markup=False)
                yield Static(FOOTNOTE, classes="help-footnote", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_ignore(self) -> None:
        """n would open a form behind the help."""

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down()
        else:
            body.scroll_up()

    def action_page(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_page_down()
        else:
            body.scroll_page_up()
