"""One session: header, branch tree, the selected branch's timeline and an event inspector (a package:
the screen, and its dialogs)."""

from .modals import KindFilterScreen
from .screen import SessionDetailScreen

__all__ = ["KindFilterScreen", "SessionDetailScreen"]
