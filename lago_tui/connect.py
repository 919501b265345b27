"""Which journal a ``--journal`` target (or ``$LAGO_JOURNAL``) names, opened behind the one interface.

A path is a DuckDB file (:class:`~lago_tui.journal.Journal`). Everything that decides between
implementations lives here, so screens and commands only ever see a :class:`~lago_tui.journal.JournalAPI`.
"""

from __future__ import annotations

from pathlib import Path

from .journal import Journal, JournalAPI


def open_journal(target: str | None) -> JournalAPI:
    """The journal ``target`` names (None: the default journal). Opens nothing until first used."""
    from .paths import default_journal

    if target is not None:
        return Journal(Path(target).expanduser())
    # The default journal lives in the user's data directory, which the first write may create.
    return Journal(default_journal(), create_parents=True)
