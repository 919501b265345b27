"""Saved views: named queries for the session list and for timelines, kept in the user's config directory.

The file is ``views.json`` in :func:`lago_tui.paths.config_dir`::

    {"version": 1, "views": [{"name": "failures", "scope": "timeline", "query": "status:error"}, ...]}

Every change re-reads the file (another lago-tui may have saved a view since) and replaces it atomically
(a temporary file in the same directory, fsync, rename), so a crash never leaves half a file. A file that
cannot be read (not JSON, wrong shape) is never a crash: the views read as empty, :attr:`SavedViews.problem`
says why, and the next save first moves the bad file aside as ``views.json.corrupt`` so nothing is lost
silently. Entries that do not fit are skipped the same way.

No Textual here: the list and detail screens build their menus on :class:`SavedViews`.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .journal.query import parse

Scope = Literal["list", "timeline"]
SCOPES: tuple[Scope, ...] = ("list", "timeline")
FILE_NAME = "views.json"
VERSION = 1
NAME_MAX = 60
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class SavedViewError(ValueError):
    """A view that cannot be saved (bad name, unwritable file...); the message is one line for people."""


@dataclass(frozen=True)
class SavedView:
    name: str
    scope: Scope
    query: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scope": self.scope, "query": self.query}


def check_name(name: str) -> str:
    """A view's name: 1 to 60 visible characters, no spaces at either end."""
    if not name.strip():
        raise SavedViewError("a view needs a name")
    if name != name.strip():
        raise SavedViewError("a view's name must not start or end with spaces")
    if len(name) > NAME_MAX:
        raise SavedViewError(f"a view's name is too long ({len(name)} > {NAME_MAX} characters)")
    for i, ch in enumerate(name):
        if unicodedata.category(ch) in _INVISIBLE:
            raise SavedViewError(f"a view's name contains a control or invisible character (at {i + 1})")
    return name


class SavedViews:
    """The saved views in ``path`` (default: ``views.json`` in the user's config directory)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            from .paths import config_dir

            path = config_dir() / FILE_NAME
        self.path = Path(path)
        self.problem: str | None = None  # why the file could not be (fully) read, after the last read
        self._corrupt = False
        self._newer = False

    # ---------------------------------------------------------------- reading

    def all(self, scope: Scope | None = None) -> list[SavedView]:
        """Views (of one scope, or all), sorted by name, case-insensitively."""
        views = self._load()
        if scope is not None:
            views = [v for v in views if v.scope == scope]
        return sorted(views, key=lambda v: (v.name.casefold(), v.name, v.scope))

    def get(self, scope: Scope, name: str) -> SavedView | None:
        key = name.casefold()
        return next((v for v in self._load() if v.scope == scope and v.name.casefold() == key), None)

    def _load(self) -> list[SavedView]:
        self.problem, self._corrupt, self._newer = None, False, False
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            self.problem = f"{self.path} cannot be read ({getattr(exc, 'strerror', None) or exc})"
            self._corrupt = isinstance(exc, UnicodeDecodeError)
            return []
        try:
            data = json.loads(raw)
        except ValueError as exc:
            self._corrupt = True
            self.problem = f"{self.path} is not valid JSON (line {getattr(exc, 'lineno', '?')}); no views were read"
            return []
        if not isinstance(data, dict) or not isinstance(data.get("views"), list):
            self._corrupt = True
            self.problem = f"{self.path} is not a views file; no views were read"
            return []
        version = data.get("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            self._newer = True
            self.problem = f"{self.path} was written by a newer lago-tui; views are read-only here"
        views, skipped, seen = [], 0, set()
        for item in data["views"]:
            view = self._view(item)
            if view is None or (view.scope, view.name.casefold()) in seen:
                skipped += 1
                continue
            seen.add((view.scope, view.name.casefold()))
            views.append(view)
        if skipped and self.problem is None:
            self.problem = f"{self.path}: {skipped} entr{'y' if skipped == 1 else 'ies'} could not be read and were skipped"
        return views

    @staticmethod
    def _view(item: Any) -> SavedView | None:
        if not isinstance(item, dict):
            return None
        name, scope, query = item.get("name"), item.get("scope"), item.get("query")
        if not isinstance(name, str) or scope not in SCOPES or not isinstance(query, str):
            return None
        try:
            check_name(name)
        except SavedViewError:
            return None
        return SavedView(name, scope, query)

    # ---------------------------------------------------------------- changing

    def save(self, scope: Scope, name: str, query: str, *, replace: bool = True) -> SavedView:
        """Save ``query`` under ``name`` (a view of that name, in any letter case, is replaced unless
        ``replace`` is false). Raises QueryError for a query that cannot be read, SavedViewError otherwise."""
        if scope not in SCOPES:
            raise SavedViewError(f"a view is for the list or a timeline, not {scope!r}")
        check_name(name)
        parse(query, scope)
        views = self._load()
        key = name.casefold()
        existing = [v for v in views if v.scope == scope and v.name.casefold() == key]
        if existing and not replace:
            raise SavedViewError(f"a view named {existing[0].name!r} already exists")
        view = SavedView(name, scope, query.strip())
        others = [v for v in views if v not in existing]
        self._write([*others, view])
        return view

    def delete(self, scope: Scope, name: str) -> bool:
        """Delete a view; False if there was none of that name."""
        views = self._load()
        key = name.casefold()
        kept = [v for v in views if not (v.scope == scope and v.name.casefold() == key)]
        if len(kept) == len(views):
            return False
        self._write(kept)
        return True

    def rename(self, scope: Scope, old: str, new: str) -> SavedView:
        check_name(new)
        views = self._load()
        view = next((v for v in views if v.scope == scope and v.name.casefold() == old.casefold()), None)
        if view is None:
            raise SavedViewError(f"no view named {old!r}")
        clash = next((v for v in views if v.scope == scope and v.name.casefold() == new.casefold() and v != view), None)
        if clash is not None:
            raise SavedViewError(f"a view named {clash.name!r} already exists")
        renamed = SavedView(new, scope, view.query)
        self._write([renamed if v == view else v for v in views])
        return renamed

    def _write(self, views: list[SavedView]) -> None:
        if self._newer:
            raise SavedViewError(f"{self.path} was written by a newer lago-tui; not changing it")
        data = {"version": VERSION, "views": [v.to_json() for v in sorted(views, key=lambda v: (v.scope, v.name.casefold()))]}
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._corrupt and self.path.exists():
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise SavedViewError(f"cannot save views to {self.path}: {exc.strerror or exc}") from None
        self._corrupt = False
        self.problem = None
